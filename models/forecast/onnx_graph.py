"""The forecaster as one ONNX graph: raw history in, forecast and interval out. The features of
``models/forecast/features.py`` are rebuilt here from standard operators (double precision throughout), so the
gateway, an OIP client or plain onnxruntime feed the same ``history``/``origin``/``exog`` tensors as
``HourlyForecaster.predict_interval``; no Python preprocessing stands between a caller and the model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from models.forecast.features import DAY, WEEK, WINDOW, YEAR_DAYS

FORECAST_METADATA = "citymind.forecast"
OPSET = 17


class _Graph:
    """A tiny builder: ``g.op("Add", a, b)`` appends a node and returns its output's name."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, value: Any, dtype: Any = np.float64) -> str:
        from onnx import numpy_helper

        name = f"c{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs: Any) -> str:
        from onnx import helper

        self._count += 1
        out = f"{kind.lower()}{self._count}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def masked_mean(self, total: str, count: str, one: str) -> str:
        return self.op("Div", total, self.op("Max", count, one))


def forecaster_graph(model: Any) -> Any:
    """``onnx.ModelProto`` of a fitted ``HourlyForecaster``."""
    return centre_graph(model, lambda g, parts, features: linear_centre(g, features(), model.coef_, model.intercept_))


#: ``relative(g, parts, ridge_features)``: the forecast in the model's space relative to the level (N, horizon)
RelativeBuilder = Callable[["_Graph", dict[str, str], Callable[[], str]], str]


def centre_graph(model: Any, relative: RelativeBuilder, opsets: dict[str, int] | None = None) -> Any:
    """The graph every forecaster family shares: features from raw history, ``relative`` (what the family adds),
    the level back on, the conformal offsets, the inverse transform."""
    from onnx import TensorProto, helper

    g, spec = _Graph(), model.spec_
    zero, one, axis1 = g.const(0.0), g.const(1.0), g.const([1], np.int64)
    parts, level = feature_parts(g, spec, zero, one, axis1)
    names = ["recent", "week_ago", "profile", "summary", "hour_of_week"] + (["exog"] if spec.exog else [])
    centre = g.op("Add", relative(g, parts, lambda: g.op("Concat", *[parts[n] for n in names], axis=1)), level)
    outputs = {"forecast": centre, "lower": g.op("Add", centre, g.const(model.lower_))}
    outputs["upper"] = g.op("Add", centre, g.const(model.upper_))
    for name, value in outputs.items():
        g.nodes.append(helper.make_node("Identity", [_inverse(g, value, spec.transform, zero, one)], [name]))
    inputs = [
        helper.make_tensor_value_info("history", TensorProto.DOUBLE, [None, WINDOW]),
        helper.make_tensor_value_info("origin", TensorProto.INT64, [None, 1]),
    ]
    if spec.exog:
        inputs.append(helper.make_tensor_value_info("exog", TensorProto.DOUBLE, [None, len(spec.exog)]))
    outs = [helper.make_tensor_value_info(n, TensorProto.DOUBLE, [None, model.horizon]) for n in outputs]
    graph = helper.make_graph(g.nodes, "hourly-forecaster", inputs, outs, g.initializers)
    imports = [helper.make_opsetid(domain, version) for domain, version in {"": OPSET, **(opsets or {})}.items()]
    onnx_model = helper.make_model(graph, opset_imports=imports, producer_name="citymind")
    onnx_model.ir_version = 8
    _describe(onnx_model, model)
    return onnx_model


def linear_centre(g: _Graph, features: str, coef: np.ndarray, intercept: np.ndarray) -> str:
    return g.op("Add", g.op("MatMul", features, g.const(coef.T)), g.const(intercept))


def feature_parts(g: _Graph, spec: Any, zero: str, one: str, axis1: str) -> tuple[dict[str, str], str]:
    """The named blocks of ``features.design_parts`` and the level, node for node."""
    missing = g.op("IsNaN", "history")
    observed = g.op("Cast", g.op("Not", missing), to=11)  # 11 = DOUBLE
    filled = g.op("Where", missing, zero, "history")
    z = _transform(g, filled, spec.transform, zero, one)
    day, seen_day = _slice(g, z, WINDOW - DAY, WINDOW), _slice(g, observed, WINDOW - DAY, WINDOW)
    day_count = g.op("ReduceSum", seen_day, axis1, keepdims=1)
    week_count = g.op("ReduceSum", observed, axis1, keepdims=1)
    day_mean = g.masked_mean(g.op("ReduceSum", day, axis1, keepdims=1), day_count, one)
    week_mean = g.masked_mean(g.op("ReduceSum", z, axis1, keepdims=1), week_count, one)
    level = g.op("Where", g.op("Greater", day_count, zero), day_mean, week_mean)
    centred = g.op("Mul", g.op("Sub", z, level), observed)
    by_day = g.const([-1, 7, DAY], np.int64)
    profile = g.masked_mean(
        g.op("ReduceSum", g.op("Reshape", centred, by_day), axis1, keepdims=0),
        g.op("ReduceSum", g.op("Reshape", observed, by_day), axis1, keepdims=0),
        one,
    )
    recent = _slice(g, centred, WINDOW - DAY, WINDOW)
    spread = g.op(
        "Sqrt", g.masked_mean(g.op("ReduceSum", g.op("Mul", recent, recent), axis1, keepdims=1), day_count, one)
    )
    last = g.op("ArgMax", observed, axis=1, keepdims=1, select_last_index=1)
    summary = [
        g.op("Sub", week_mean, level),
        spread,
        g.op("GatherElements", centred, last, axis=1),
        g.op("Sub", g.const([[WINDOW - 1.0]]), g.op("Cast", last, to=11)),
        g.op("Sub", one, g.op("Div", week_count, g.const(float(WINDOW)))),
        level,
    ][: 5 + spec.level]
    how = _hour_index(g)
    parts = {
        "recent": _slice(g, centred, WINDOW - 48, WINDOW),
        "week_ago": _slice(g, centred, 0, 24),
        "profile": profile,
        "summary": g.op("Concat", *summary, axis=1),
        "hour_of_week": g.op("Cast", g.op("Equal", how, g.const([list(range(WEEK))], np.int64)), to=11),
        "calendar": g.op(
            "Cast",
            g.op("Concat", g.op("Mod", how, g.const(DAY, np.int64)), g.op("Div", how, g.const(DAY, np.int64)), axis=1),
            to=11,
        ),
    }
    parts |= _calendar_parts(g, spec)
    if spec.exog:
        scaled = g.op("Div", g.op("Sub", "exog", g.const([spec.exog_mean])), g.const([spec.exog_scale]))
        parts["exog"] = g.op("Where", g.op("IsNaN", scaled), zero, scaled)
    return parts, level


def _calendar_parts(g: _Graph, spec: Any) -> dict[str, str]:
    """The tree families' time of year and public-holiday flags, as ``features.design_parts`` computes them."""
    parts = {}
    if spec.season:
        days = g.op("Cast", g.op("Div", "origin", g.const(86400, np.int64)), to=11)
        year = g.const(YEAR_DAYS)
        within = g.op("Sub", days, g.op("Mul", g.op("Floor", g.op("Div", days, year)), year))
        parts["season"] = g.op("Div", within, year)
    if spec.holiday_region:
        ahead = g.op("Div", g.op("Add", "origin", g.const(3600, np.int64)), g.const(86400, np.int64))
        table = g.const([list(spec.holidays or (-1,))], np.int64)
        flags = [
            g.op("ReduceMax", g.op("Cast", g.op("Equal", day, table), to=11), axes=[1], keepdims=1)
            for day in (ahead, g.op("Add", ahead, g.const(1, np.int64)))
        ]
        parts["holiday"] = g.op("Concat", *flags, axis=1)
    return parts


def _transform(g: _Graph, x: str, kind: str, zero: str, one: str) -> str:
    if kind == "log1p":
        return g.op("Log", g.op("Add", g.op("Max", x, zero), one))
    return g.op("Sqrt", g.op("Max", x, zero)) if kind == "sqrt" else x


def _inverse(g: _Graph, x: str, kind: str, zero: str, one: str) -> str:
    if kind == "log1p":
        return g.op("Max", g.op("Sub", g.op("Exp", x), one), zero)
    if kind == "sqrt":
        clipped = g.op("Max", x, zero)
        return g.op("Mul", clipped, clipped)
    return x


def _slice(g: _Graph, x: str, start: int, end: int) -> str:
    return g.op("Slice", x, g.const([start], np.int64), g.const([end], np.int64), g.const([1], np.int64))


def _hour_index(g: _Graph) -> str:
    """(N, 1) hour of the week (Monday 00:00 = 0) from int64 epoch seconds (integer division: origins ≥ 0)."""
    weekday = g.op(
        "Mod", g.op("Add", g.op("Div", "origin", g.const(86400, np.int64)), g.const(3, np.int64)), g.const(7, np.int64)
    )
    hour = g.op("Mod", g.op("Div", "origin", g.const(3600, np.int64)), g.const(24, np.int64))
    return g.op("Add", g.op("Mul", weekday, g.const(24, np.int64)), hour)


def forecast_metadata(model: Any) -> dict[str, Any]:
    """What a server needs to feed the graph and explain its answer (also in the ONNX metadata)."""
    spec = model.spec_
    return {
        "window": WINDOW,
        "horizon": model.horizon,
        "freq": "h",
        "exog": list(spec.exog),
        "interval": model.interval,
        "target": model.target_,
        "transform": spec.transform,
        "holidays": spec.holiday_region,
    }


def _describe(onnx_model: Any, model: Any) -> None:
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = FORECAST_METADATA, json.dumps(forecast_metadata(model), ensure_ascii=False)
    onnx_model.doc_string = (
        f"Hourly forecast of {model.target_!r}, next {model.horizon} h, {model.interval:.0%} conformal interval. "
        f"Inputs: 'history' the last {WINDOW} hourly values ending at the origin (NaN for a missing hour), "
        "'origin' the origin's wall-clock time as int64 seconds since 1970-01-01 (read as UTC)"
        + (f", 'exog' the values of {list(model.spec_.exog)} at the origin." if model.spec_.exog else ".")
    )
