"""Load a labelled table (CSV, TSV/TXT, XLSX) the way a city brings its own 12345 tickets."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.text.cleaning import join_fields
from registry import ValidationError


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    source: str
    digest: str

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def read_table(path: Path, *, columns: Sequence[str] | None = None, sep: str | None = None) -> Any:
    """A DataFrame from CSV/TSV/TXT/XLSX; ``columns`` names the columns of a headerless file."""
    import pandas as pd

    if not path.is_file():
        raise ValidationError(f"Data file {path} does not exist. Pass --data with a CSV, TSV or XLSX file.")
    suffix = path.suffix.lower()
    header = None if columns else "infer"
    if suffix in {".xlsx", ".xls"}:
        frame = pd.read_excel(path, header=None if columns else 0, dtype=str)
    else:
        delimiter = sep or ("\t" if suffix in {".tsv", ".txt"} else ",")
        frame = pd.read_csv(
            path, sep=delimiter, header=header, dtype=str, quoting=3 if delimiter == "\t" else 0, keep_default_na=False
        )
    if columns:
        if len(columns) != frame.shape[1]:
            raise ValidationError(
                f"{path} has {frame.shape[1]} columns but --columns names {len(columns)}: {list(columns)}."
            )
        frame.columns = list(columns)
    return frame


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
