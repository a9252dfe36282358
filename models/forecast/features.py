"""The forecaster's inputs and features, in numpy. ``models/forecast/onnx_graph.py`` computes the same features
with ONNX operators, so a caller (the gateway, OIP, plain onnxruntime) sends raw history, never features.

A feed is what the ONNX graph takes: ``history`` (N, 168) raw hourly values ending at the forecast origin (NaN
for a missing hour), ``origin`` (N, 1) the origin's wall-clock time as int64 seconds since 1970-01-01 (read as
UTC, so local time stays local), and, when the model uses weather, ``exog`` (N, E) its values at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

WINDOW = 168  #: hours of history the model reads (one week)
DAY, WEEK = 24, 168
YEAR_DAYS = 365.2425


@dataclass(frozen=True)
class FeatureSpec:
    """What the features need besides the feed: the target transform, the weather columns' scaling and, for the
    tree families, whether they read the time of year and the public holidays of which region (epoch days)."""

    transform: str = "log1p"
    exog: tuple[str, ...] = ()
    exog_mean: tuple[float, ...] = ()
    exog_scale: tuple[float, ...] = ()
    level: bool = True  #: the day's level itself among the features (``fit`` keeps it when it helps held out)
    season: bool = False
    holiday_region: str = ""
    holidays: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return 48 + 24 + 24 + 5 + int(self.level) + WEEK + len(self.exog)


TRANSFORMS = ("log1p", "sqrt", "none")


def transform(values: np.ndarray, kind: str) -> np.ndarray:
    """The space the model works in: ``log1p`` or ``sqrt`` of the values clipped at 0 (counts, concentrations),
    or ``none`` (an indicator that can be negative)."""
    if kind == "log1p":
        return np.log1p(np.maximum(values, 0.0))
    if kind == "sqrt":
        return np.sqrt(np.maximum(values, 0.0))
    return values


def inverse(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "log1p":
        return np.maximum(np.expm1(values), 0.0)
    if kind == "sqrt":
        return np.maximum(values, 0.0) ** 2
    return values


def hour_of_week(origin: np.ndarray) -> np.ndarray:
    """Hour of the week (Monday 00:00 = 0) of int64 epoch seconds. The time of year is left out on purpose: the
    day's level carries it, and a seasonal term fitted on one or two years confounds season with growth."""
    seconds = origin.reshape(-1).astype(np.int64)
    weekday = (seconds // 86400 + 3) % 7  # 1970-01-01 was a Thursday
    return weekday * 24 + (seconds // 3600) % 24


def _masked_mean(values: np.ndarray, observed: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    count = observed.sum(axis=axis)
    total = np.where(observed, values, 0.0).sum(axis=axis)
    return total / np.maximum(count, 1), count


def design(feed: dict[str, np.ndarray], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, spec.size) and the level (N,) the targets are relative to. Missing hours never enter the
    arithmetic: every reduction is over observed hours, and a missing lag becomes 0 (= the level)."""
    parts, level = design_parts(feed, spec)
    columns = [parts["recent"], parts["week_ago"], parts["profile"], parts["summary"], parts["hour_of_week"]]
    return np.concatenate(columns + ([parts["exog"]] if spec.exog else []), axis=1), level


def tree_design(feed: dict[str, np.ndarray], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """The features of the tree families: ``design``'s, with the hour of the day and the day of the week as two
    numbers instead of the 168 one-hot columns a linear model needs (a tree splits on an order), then the time
    of year and whether the next day and the one after are public holidays when the spec says so."""
    parts, level = design_parts(feed, spec)
    return np.concatenate([parts[name] for name in tree_parts(spec)], axis=1), level


def tree_parts(spec: FeatureSpec) -> list[str]:
    names = ["recent", "week_ago", "profile", "summary", "calendar"]
    return names + ["season"] * spec.season + ["holiday"] * bool(spec.holiday_region) + ["exog"] * bool(spec.exog)


def tree_size(spec: FeatureSpec) -> int:
    return 48 + 24 + 24 + 5 + int(spec.level) + 2 + int(spec.season) + 2 * bool(spec.holiday_region) + len(spec.exog)


def design_parts(feed: dict[str, np.ndarray], spec: FeatureSpec) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The named feature blocks (both families pick from them) and the level."""
    raw = np.asarray(feed["history"], dtype=np.float64)
    observed = ~np.isnan(raw)
    z = np.where(observed, transform(np.where(observed, raw, 0.0), spec.transform), 0.0)
    day_mean, day_count = _masked_mean(z[:, -DAY:], observed[:, -DAY:], axis=1)
    week_mean, _ = _masked_mean(z, observed, axis=1)
    level = np.where(day_count > 0, day_mean, week_mean)
    centred = np.where(observed, z - level[:, None], 0.0)
    profile, _ = _masked_mean(centred.reshape(-1, 7, DAY), observed.reshape(-1, 7, DAY), axis=1)
    spread = np.sqrt(_masked_mean(centred[:, -DAY:] ** 2, observed[:, -DAY:], axis=1)[0])
    last = WINDOW - 1 - np.argmax(observed[:, ::-1], axis=1)
    summary = np.stack(
        [
            week_mean - level,
            spread,
            centred[np.arange(len(raw)), last],
            (WINDOW - 1 - last).astype(np.float64),
            1.0 - observed.mean(axis=1),
            level,  # the level itself: a high day tends back towards the usual (a smog episode clears)
        ][: 5 + spec.level],
        axis=1,
    )
    how = hour_of_week(feed["origin"])
    parts = {
        "recent": centred[:, -48:],
        "week_ago": centred[:, :24],
        "profile": profile,
        "summary": summary,
        "hour_of_week": np.eye(WEEK)[how],
        "calendar": np.stack([how % DAY, how // DAY], axis=1).astype(np.float64),
    }
    seconds = feed["origin"].reshape(-1, 1).astype(np.int64)
    if spec.season:
        days = (seconds // 86400).astype(np.float64)
        parts["season"] = (days - np.floor(days / YEAR_DAYS) * YEAR_DAYS) / YEAR_DAYS
    if spec.holiday_region:
        ahead = (seconds + 3600) // 86400  # the day of the first hour ahead, and the next
        table = np.asarray(spec.holidays or (-1,), dtype=np.int64)
        parts["holiday"] = np.concatenate([np.isin(ahead, table), np.isin(ahead + 1, table)], axis=1).astype(float)
    if spec.exog:
        parts["exog"] = _scaled_exog(feed["exog"], spec)
    return parts, level


def _scaled_exog(exog: Any, spec: FeatureSpec) -> np.ndarray:
    values = (np.asarray(exog, dtype=np.float64) - np.asarray(spec.exog_mean)) / np.asarray(spec.exog_scale)
    return np.where(np.isnan(values), 0.0, values)


def windows(values: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """(len(origins), WINDOW) history windows of a series ending at each origin index (NaN before the start)."""
    padded = np.concatenate([np.full(WINDOW - 1, np.nan), np.asarray(values, dtype=np.float64)])
    return np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[origins]


def epoch_seconds(index: Any) -> np.ndarray:
    """Wall-clock epoch seconds of a pandas DatetimeIndex (time zones dropped: local time stays local)."""
    import pandas as pd

    naive = pd.DatetimeIndex(index).tz_localize(None)
    return np.asarray((naive - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1), dtype=np.int64)
