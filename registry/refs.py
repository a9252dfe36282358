"""Asset names and references: ``models:/name@alias``, ``models:/name/3``, ``name@alias``, ``name``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from citymind.errors import AliasError, InvalidAsset

_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.\- ]{0,99}$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class Ref:
    """A parsed reference: exactly one of ``alias`` and ``version`` is set, or neither (= latest)."""

    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        tail = f"@{self.alias}" if self.alias else (f"/{self.version}" if self.version else "")
        return f"models:/{self.name}{tail}"


def parse_ref(ref: str) -> Ref:
    text = ref.strip()
    if text.startswith("models:/"):
        text = text[len("models:/") :]
    if "@" in text:
        name, alias = text.split("@", 1)
        if alias.isascii() and alias.isdigit():
            raise AliasError(f"{ref!r}: '@' takes an alias such as champion; version {alias} is '{name}/{alias}'.")
        return Ref(check_name(name), alias=check_alias(alias))
    if "/" in text:
        name, version = text.rsplit("/", 1)
        if not (version.isascii() and version.isdigit()) or int(version) < 1:
            raise InvalidAsset(f"Version in {ref!r} must be a positive integer, e.g. 'models:/{name}/1'.", name=name)
        return Ref(check_name(name), version=int(version))
    return Ref(check_name(text))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name != name.strip():
        raise InvalidAsset(
            f"Asset name {name!r} is not valid: use 1–100 letters, digits, CJK characters, '-', '_', '.' or "
            "inner spaces (no '/', '@', ':' or quotes), e.g. 'event-classifier'.",
            name=str(name),
        )
    return name


def check_alias(alias: str) -> str:
    if not _ALIAS.match(alias) or alias == "latest" or re.fullmatch(r"v\d+", alias):
        raise AliasError(
            f"Alias {alias!r} is not valid: start with a letter, use letters, digits, '-' or '_', and avoid "
            "'latest' and 'v<number>' (MLflow reserves them), e.g. 'champion'."
        )
    return alias
