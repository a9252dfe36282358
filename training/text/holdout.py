"""The time-ordered holdout: the newest reports, kept out of training, on which the new model and the current
champion are both scored, so champion and challenger are compared on the same newest slice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.base import CityModel
from models.served import load_served_model
from registry import AssetNotFound, CitymindError, MlflowRegistry
from training.text.data import LabelledTexts


@dataclass(frozen=True)
class HoldoutScores:
    """Macro-F1 (over the holdout's own classes) of the new model and of the champion on the same rows;
    ``champion`` None when there is none or it cannot be loaded (``note`` says which)."""

    rows: int
    macro_f1: float
    accuracy: float
    champion: int | None = None
    champion_macro_f1: float | None = None
    note: str = ""

    def metrics(self) -> dict[str, float]:
        out = {"holdout_macro_f1": self.macro_f1, "holdout_accuracy": self.accuracy, "holdout_rows": self.rows}
        if self.champion_macro_f1 is not None:
            out["champion_holdout_macro_f1"] = self.champion_macro_f1
        return out


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-F1 over the classes the truth holds (a champion that knows other classes is not rewarded for them)."""
    from sklearn.metrics import f1_score

    return float(f1_score(list(truth), list(predicted), labels=sorted(set(truth)), average="macro", zero_division=0))


def score_holdout(model: CityModel, holdout: LabelledTexts, registry: MlflowRegistry, name: str) -> HoldoutScores:
    """The new ``model`` and ``name@champion`` (its ONNX, as the gateway serves it) on the holdout."""
    predicted = [str(p) for p in model.predict(holdout.texts)]
    accuracy = sum(p == y for p, y in zip(predicted, holdout.labels, strict=True)) / len(holdout.labels)
    scores = HoldoutScores(len(holdout.labels), macro_f1(holdout.labels, predicted), accuracy)
    try:
        champion = registry.resolve(f"{name}@champion")
    except AssetNotFound:
        return HoldoutScores(**{**scores.__dict__, "note": "no champion yet"})
    try:
        served = load_served_model(registry, champion)
        answers = served.classify(list(holdout.texts), 1)
    except CitymindError as exc:
        return HoldoutScores(**{**scores.__dict__, "note": f"champion v{champion.version} not scored: {exc}"})
    champion_f1 = macro_f1(holdout.labels, [a["category"] for a in answers])
    return HoldoutScores(
        scores.rows, scores.macro_f1, scores.accuracy, champion.version, champion_f1, "same newest slice"
    )
