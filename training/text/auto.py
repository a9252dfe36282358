"""``--algorithm auto``: every registered text family cross-validated on the same folds, the best one kept.

The winner's own evaluation is reused for the run (no second cross-validation), and the comparison is logged to
the MLflow run as a table (``family_comparison.json``) and a chart (``family_comparison.png``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.base import CityModel
from registry import ValidationError
from training.charts import comparison_bars
from training.progress import Progress, silent, timed
from training.text.data import LabelledTexts
from training.text.evaluation import Evaluation, cross_validate

AUTO = "auto"


@dataclass(frozen=True)
class FamilyScore:
    """One family's cross-validated scores with its default parameters, and how long its folds took."""

    algorithm: str
    macro_f1: float
    accuracy: float
    seconds: float

    def row(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class Choice:
    """The family ``auto`` chose, its evaluation (the run's) and every family's scores, best first."""

    algorithm: str
    evaluation: Evaluation
    scores: list[FamilyScore]


def choose_family(
    data: LabelledTexts,
    families: Mapping[str, type[CityModel]],
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Progress = silent,
) -> Choice:
    """Cross-validate every family (defaults) on the same stratified folds; the best macro-F1 wins, ties going
    to the family listed first (the faster ones are listed first)."""
    if not families:
        raise ValidationError("auto needs at least one registered text family; FAMILIES is empty.")
    evaluations: dict[str, Evaluation] = {}
    scores = []
    for algorithm, cls in families.items():
        started = time.perf_counter()
        evaluation = timed(
            progress,
            f"cross-validation ({algorithm})",
            folds,
            lambda tick, cls=cls: _cross_validate(cls, data, folds, seed, tick),  # type: ignore[misc]
        )
        evaluations[algorithm] = evaluation
        scores.append(FamilyScore(algorithm, evaluation.macro_f1, evaluation.accuracy, time.perf_counter() - started))
    best = max(scores, key=lambda s: s.macro_f1)  # max keeps the first of equal scores
    ranked = sorted(scores, key=lambda s: -s.macro_f1)
    return Choice(best.algorithm, evaluations[best.algorithm], ranked)


def _cross_validate(
    cls: type[CityModel], data: LabelledTexts, folds: int, seed: int, tick: Callable[[int], None]
) -> Evaluation:
    return cross_validate(cls, data.texts, data.labels, folds=folds, seed=seed, on_fold=lambda i: tick(i + 1))


def comparison_table(scores: Sequence[FamilyScore], chosen: str) -> dict[str, list[Any]]:
    """The comparison as MLflow's ``log_table`` wants it: one list per column.

    >>> comparison_table([FamilyScore("a", 0.9, 0.91, 1.5), FamilyScore("b", 0.8, 0.82, 0.5)], "a")["chosen"]
    [True, False]
    """
    rows = [s.row() | {"chosen": s.algorithm == chosen} for s in scores]
    return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}


def plot_comparison(scores: Sequence[FamilyScore], chosen: str, path: Path) -> Path:
    """A horizontal bar per family (macro-F1), the chosen one highlighted, its seconds beside it."""
    values = [s.macro_f1 for s in scores]
    return comparison_bars(
        [s.algorithm for s in scores], values, [f"{s.macro_f1:.3f} ({s.seconds:.0f} s)" for s in scores],
        ["tab:green" if s.algorithm == chosen else "tab:gray" for s in scores], path,
        xlabel="macro-F1 (same stratified folds)", title=f"auto: {chosen} chosen",
        xlim=(max(0.0, min(values, default=0.0) - 0.1), 1.0),
    )  # fmt: skip
