"""The baseline every forecaster must beat: tomorrow's hour is the same hour yesterday (or last week)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.base import CityModel, ModelTags, Signature, TensorDecl
from models.forecast.features import WINDOW


class SeasonalNaive(CityModel):
    """Forecast hour ``t+h`` with the value at ``t+h-season`` (``season`` 24: same hour yesterday; 168: same hour
    last week). A missing value stays missing: the baseline does not guess.

    >>> import numpy as np
    >>> history = np.arange(168, dtype=float)[None, :]  # the last week, oldest first
    >>> SeasonalNaive(season=24, horizon=3).fit().predict({"history": history}).tolist()
    [[144.0, 145.0, 146.0]]
    """

    tags = ModelTags(task="forecast", onnx_exportable=True, latency_critical=True, input_kind="series")

    def __init__(self, season: int = 24, horizon: int = 24) -> None:
        self.season = season
        self.horizon = horizon

    def fit(self, X: Any = None, y: Any = None) -> SeasonalNaive:
        if not 0 < self.horizon <= self.season <= WINDOW:
            raise ValueError(
                f"SeasonalNaive needs 0 < horizon ≤ season ≤ {WINDOW}; got horizon={self.horizon}, "
                f"season={self.season}."
            )
        self.columns_ = np.arange(WINDOW - self.season, WINDOW - self.season + self.horizon)
        return self

    def predict(self, X: Any) -> np.ndarray:
        self.check_fitted("columns_")
        return np.asarray(X["history"], dtype=np.float64)[:, self.columns_]

    def to_onnx(self) -> Any:
        from onnx import TensorProto, helper, numpy_helper

        self.check_fitted("columns_")
        columns = numpy_helper.from_array(self.columns_.astype(np.int64), "columns")
        graph = helper.make_graph(
            [helper.make_node("Gather", ["history", "columns"], ["forecast"], axis=1)],
            f"seasonal-naive-{self.season}",
            [helper.make_tensor_value_info("history", TensorProto.DOUBLE, [None, WINDOW])],
            [helper.make_tensor_value_info("forecast", TensorProto.DOUBLE, [None, self.horizon])],
            [columns],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="citymind")
        model.ir_version = 8
        return model

    def signature(self) -> Signature:
        return Signature(
            (TensorDecl("history", "float64", (-1, WINDOW)),),
            (TensorDecl("forecast", "float64", (-1, self.horizon)),),
        )
