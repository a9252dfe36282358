"""Load an hourly indicator series (air quality, traffic counts, demand) from a table a city brings: one target
column, the time in one or several columns, optional weather columns."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from registry import ValidationError
from training.tables import read_table

if TYPE_CHECKING:
    import pandas as pd

_PARTS = {"year", "month", "day", "hour", "minute", "second"}


@dataclass(frozen=True)
class HourlySeries:
    """``frame``: a regular hourly DatetimeIndex, the target and the weather columns; hours the file lacks are
    rows of NaN (``inserted`` counts them), so a gap is explicit rather than silently closed. ``region``: where
    the series was measured, for its public holidays ("CN", "US-DC"; "" for none)."""

    frame: pd.DataFrame
    target: str
    exog: tuple[str, ...]
    source: str
    digest: str
    inserted: int
    missing: int
    region: str = ""

    @property
    def values(self) -> np.ndarray:
        return self.frame[self.target].to_numpy(dtype="float64")


def parse_times(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Timestamps from one datetime column, from year/month/day/hour columns, or from a date column plus an
    hour-of-day column (``dteday`` + ``hr``)."""
    import pandas as pd

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"no time column(s) {missing}; the columns are {list(frame.columns)}.")
    try:
        if len(columns) == 1:
            with warnings.catch_warnings():  # a format pandas must guess (1/1/11) parses element-wise
                warnings.simplefilter("ignore", UserWarning)
                return pd.to_datetime(frame[columns[0]])
        if {c.lower() for c in columns} <= _PARTS:
            parts = frame[list(columns)].apply(pd.to_numeric).rename(columns=str.lower)
            return pd.to_datetime(parts)
        if len(columns) == 2:
            hours = pd.to_numeric(frame[columns[1]])
            if hours.between(0, 23).all():
                with warnings.catch_warnings():  # dates such as 1/1/11 parse element-wise, month first
                    warnings.simplefilter("ignore", UserWarning)
                    days = pd.to_datetime(frame[columns[0]])
                return days + pd.to_timedelta(hours, unit="h")
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"cannot read times from {list(columns)}: {exc}") from None
    raise ValidationError(
        f"--time {','.join(columns)}: give one datetime column, year/month/day/hour columns, or a date column "
        "and an hour-of-day (0–23) column."
    )


def load_hourly_series(
    path: Path,
    target: str,
    time_columns: Sequence[str],
    *,
    freq: str = "h",
    exog: Sequence[str] = (),
    region: str = "",
) -> HourlySeries:
    import pandas as pd

    if freq.lower() not in {"h", "1h"}:
        raise ValidationError(f"--freq {freq!r}: only hourly series (H) are supported; resample first.")
    frame = read_table(path)
    absent = [c for c in [target, *exog] if c not in frame.columns]
    if absent:
        raise ValidationError(f"{path} has no column(s) {absent}; its columns are {list(frame.columns)}.")
    numbers = _numeric(frame, [target, *exog], path)
    numbers.index = pd.DatetimeIndex(parse_times(frame, time_columns))
    numbers = numbers[numbers.index.notna()].sort_index()
    rows = len(numbers)
    numbers = numbers.groupby(level=0).mean()  # repeated hours: their mean
    if len(numbers) * 2 < rows:
        raise ValidationError(
            f"{path}: its {rows} rows fall on {len(numbers)} distinct times, so --time {','.join(time_columns)} does "
            "not tell the hours apart (a date without its hour?): name the hour column too, e.g. --time dteday,hr."
        )
    if (numbers.index != numbers.index.floor("h")).any():
        raise ValidationError(f"{path}: times are not on the hour; resample to hourly first (series.resample).")
    regular = numbers.asfreq("h")
    digest = hashlib.sha256(pd.util.hash_pandas_object(regular, index=True).to_numpy().tobytes()).hexdigest()
    return HourlySeries(
        regular,
        target,
        tuple(exog),
        str(path),
        f"sha256:{digest[:16]}",
        inserted=len(regular) - len(numbers),
        missing=int(regular[target].isna().sum()),
        region=region,
    )


def _numeric(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.DataFrame:
    """Numbers; blanks and NA are missing, anything else that is not a number is an error."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for column in columns:
        text = frame[column].astype(str).str.strip()
        blank = text.isin(["", "NA", "NaN", "nan", "null", "None"])
        values = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = values.isna() & ~blank
        if bad.any():
            examples = text[bad].unique()[:3].tolist()
            raise ValidationError(f"{path} column {column!r} has non-numeric values such as {examples}.")
        out[column] = values.astype("float64")
    return out
