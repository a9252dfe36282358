"""The five libraries of the registry and the MLflow tag names that mark them."""

from __future__ import annotations

from enum import StrEnum

from citymind.errors import UnknownKind

KIND_TAG = "citymind.kind"
LINEAGE_TAG = "citymind.lineage"
FORMAT_TAG = "citymind.format"
DIGEST_TAG = "citymind.digest"  # sha256 of the stored files, checked on every download
ALIAS_HISTORY_TAG = "citymind.alias_history."  # + alias name


class Kind(StrEnum):
    """One of the five libraries: 模型库, 算法库, 规则库, 知识库, 组件库."""

    MODEL = "model"
    ALGORITHM = "algorithm"
    RULE = "rule"
    KNOWLEDGE = "knowledge"
    COMPONENT = "component"

    @classmethod
    def parse(cls, value: str | Kind) -> Kind:
        if isinstance(value, Kind):
            return value
        key = str(value).strip().lower().rstrip("s")  # "models" → "model"
        try:
            return cls(key)
        except ValueError:
            choices = ", ".join(k.value for k in cls)
            raise UnknownKind(
                f"The kind of an asset must be one of {{{choices}}}. Got {value!r} instead.", kind=str(value)
            ) from None
