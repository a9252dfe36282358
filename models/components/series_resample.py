"""``series.resample``: irregular sensor readings → a regular series, with the gaps said out loud."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from citymind.errors import Unprocessable
from models.components.base import Component, ComponentTags

_POINT: dict[str, Any] = {
    "type": "object",
    "required": ["t", "value"],
    "properties": {"t": {"type": ["string", "number"]}, "value": {"type": ["number", "null"]}},
}


class SeriesResampler(Component):
    """Readings ``[{"t": "2024-05-01T08:13:00", "value": 61.0}, ...]`` (ISO times or epoch seconds, any order,
    repeats allowed) → one value per ``freq`` bucket (the mean of its readings), in ``series``. A gap of at most
    ``max_gap`` missing buckets is filled (``fill``: ``linear`` or ``ffill``) and marked ``filled``; longer gaps
    stay null and are listed in ``gaps`` with their start, end and length, so no one mistakes a dead sensor for a
    calm hour. At most ``max_buckets`` buckets: the span between the first and last reading is checked before
    anything is allocated (two readings years apart would otherwise cost every bucket between them).

    >>> out = SeriesResampler()({"series": [{"t": "2024-05-01T08:10", "value": 10},
    ...                                     {"t": "2024-05-01T10:50", "value": 30}]})
    >>> [(p["t"], p["value"], p["filled"]) for p in out["series"]]
    [('2024-05-01T08:00:00', 10.0, False), ('2024-05-01T09:00:00', 20.0, True), ('2024-05-01T10:00:00', 30.0, False)]
    """

    name = "series.resample"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["series"],
        "properties": {"series": {"type": "array", "items": _POINT, "minItems": 1, "maxItems": 100_000}},
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["series", "gaps"],
        "properties": {
            "series": {
                "type": "array",
                "items": {**_POINT, "properties": {**_POINT["properties"], "filled": {"type": "boolean"}}},
            },
            "gaps": {"type": "array", "items": {"type": "object"}},
        },
    }
    tags = ComponentTags(input_kind="series")

    examples: ClassVar[list[dict[str, Any]]] = [
        {"series": [{"t": "2024-05-01T08:10", "value": 10}, {"t": "2024-05-01T10:50", "value": 30}]},
        {"series": [{"t": 1714550400, "value": 61.0}, {"t": 1714568400, "value": None}, {"t": 1714590000, "value": 9}]},
    ]

    def __init__(self, freq: str = "h", max_gap: int = 3, fill: str = "linear", max_buckets: int = 100_000) -> None:
        self.freq = freq
        self.max_gap = max_gap
        self.fill = fill
        self.max_buckets = max_buckets

    def load(self, registry: Any = None) -> None:
        if self.fill not in ("linear", "ffill"):
            raise ValueError(f"The 'fill' parameter of series.resample must be linear or ffill. Got {self.fill!r}.")

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        import pandas as pd

        frame = pd.DataFrame(record["series"])
        try:
            unit = "s" if pd.api.types.is_numeric_dtype(frame["t"]) else None
            frame["t"] = pd.to_datetime(frame["t"], unit=unit)
        except (ValueError, TypeError, OverflowError) as exc:
            raise Unprocessable(f"series.resample: a time 't' cannot be read: {exc}") from None
        self._check_span(frame["t"].min(), frame["t"].max())
        values = frame.set_index("t")["value"].astype(float).sort_index().resample(self.freq).mean()
        missing = values.isna()
        run = (missing != missing.shift()).cumsum()
        lengths = missing.groupby(run).transform("sum")
        filled = values.interpolate("time", limit_area="inside") if self.fill == "linear" else values.ffill()
        short = missing & (lengths <= self.max_gap) & filled.notna()  # an open end cannot be filled
        values = values.where(~short, filled)
        left = missing & ~short
        gaps = [
            {"start": g.index[0].isoformat(), "end": g.index[-1].isoformat(), "buckets": len(g)}
            for _, g in values[left].groupby(run[left])
        ]
        series = [
            {"t": t.isoformat(), "value": None if v != v else float(v), "filled": bool(f)}
            for t, v, f in zip(values.index, values.to_numpy(), short.to_numpy(), strict=True)
        ]
        return {"series": series, "gaps": gaps}

    def _check_span(self, first: Any, last: Any) -> None:
        import pandas as pd

        try:
            step = pd.tseries.frequencies.to_offset(self.freq).nanos
        except ValueError:  # a calendar frequency (months, years): few buckets for any span pandas can hold
            return
        span_ns = (last.to_pydatetime() - first.to_pydatetime()).total_seconds() * 1e9  # > 292 years overflows pandas
        buckets = int(span_ns // step) + 1
        if buckets > self.max_buckets:
            raise Unprocessable(
                f"series.resample: the readings span {first.isoformat()} to {last.isoformat()}, {buckets} buckets "
                f"of {self.freq!r}; at most {self.max_buckets}. Send readings of a shorter period."
            )
