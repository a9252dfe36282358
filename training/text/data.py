"""Load a labelled table (CSV, TSV/TXT, XLSX) the way a city brings its own 12345 tickets."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.text.cleaning import join_fields
from registry import ValidationError
from training.tables import read_table


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    source: str
    digest: str

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def load_labelled_texts(
    path: Path,
    text_cols: Sequence[str],
    label_col: str,
    *,
    columns: Sequence[str] | None = None,
    sep: str | None = None,
    label_names: Path | None = None,
) -> LabelledTexts:
    """Texts (title and body joined and cleaned) and labels; rows without a label are dropped."""
    frame = read_table(path, columns=columns, sep=sep)
    missing = [c for c in [*text_cols, label_col] if c not in frame.columns]
    if missing:
        raise ValidationError(f"{path} has no column(s) {missing}; its columns are {list(frame.columns)}.")
    names = label_names.read_text(encoding="utf-8").split() if label_names else None
    texts, labels = [], []
    for row in frame[[*text_cols, label_col]].itertuples(index=False):
        label = str(row[-1]).strip()
        if not label or label == "nan":
            continue
        texts.append(join_fields(*row[:-1]))
        labels.append(names[int(label)] if names else label)
    if len(set(labels)) < 2:
        raise ValidationError(f"{path} column {label_col!r} has fewer than 2 distinct labels.")
    digest = hashlib.sha256("\x1e".join(f"{t}\x1f{y}" for t, y in zip(texts, labels, strict=True)).encode())
    return LabelledTexts(texts, labels, str(path), f"sha256:{digest.hexdigest()[:16]}")
