"""ONNX parity: the exported graph must give the fitted model's probabilities, edge cases included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.base import CityModel
from models.onnx_session import OnnxTextClassifier, make_session
from registry import InvalidAsset

if TYPE_CHECKING:
    from onnx import ModelProto

EDGE_CASES = ["", "   ", "\t\n", "😀🚗🔥 路灯坏了😡", "垃圾清运不及时" * 400, "ＡＢＣ１２３　全角", "A市 B区 123号"]


@dataclass(frozen=True)
class ParityReport:
    rows: int
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def check_parity(
    model: CityModel, onnx_model: ModelProto, texts: Sequence[str], tolerance: float = 1e-4
) -> ParityReport:
    """Compare ``model.predict_proba`` with an onnxruntime session, row by row and batched."""
    rows = [*texts, *EDGE_CASES]
    served = OnnxTextClassifier(make_session(onnx_model.SerializeToString()))
    expected = model.predict_proba(rows)
    one_by_one = np.vstack([served.predict_proba([row]) for row in rows])
    diff = max(float(np.abs(expected - served.predict_proba(rows)).max()), float(np.abs(expected - one_by_one).max()))
    report = ParityReport(len(rows), diff, tolerance)
    if not report.ok:
        raise InvalidAsset(
            f"ONNX parity failed: max |Δprob| = {diff:.2e} > {tolerance:.0e} on {len(rows)} rows. "
            "The exported model is not registered; check the vectorizer options (analyzer='char', "
            "no sublinear_tf) and the locale."
        )
    return report
