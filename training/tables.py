"""Read a table (CSV, TSV/TXT, XLSX) the way a city brings its data: the labelled reports of the event classifier
and the hourly series of the forecaster both start here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from registry import ValidationError

if TYPE_CHECKING:
    import pandas as pd


def read_table(path: Path, *, columns: Sequence[str] | None = None, sep: str | None = None) -> pd.DataFrame:
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
        try:
            frame = pd.read_csv(
                path,
                sep=delimiter,
                header=header,
                dtype=str,
                quoting=3 if delimiter == "\t" else 0,
                keep_default_na=False,
            )
        except pd.errors.EmptyDataError:
            raise ValidationError(f"{path} is empty: no header and no rows.") from None
    if frame.empty:
        raise ValidationError(f"{path} has no rows, only the header {list(frame.columns)}.")
    if columns:
        if len(columns) != frame.shape[1]:
            raise ValidationError(
                f"{path} has {frame.shape[1]} columns but --columns names {len(columns)}: {list(columns)}."
            )
        frame.columns = list(columns)
    return frame
