"""``--algorithm auto``: every registered text family cross-validated on the same folds, the best one kept.

The winner's own evaluation is reused for the run (no second cross-validation), and the comparison is logged to
the MLflow run as a table (``family_comparison.json``) and a chart (``family_comparison.png``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import ValidationError
from training.charts import comparison_bars
from training.progress import Progress, silent
from training.text.data import LabelledTexts
from training.text.evaluation import Evaluation, ModelMaker, cross_validate_each

AUTO = "auto"


@dataclass(frozen=True)
class FamilyScore:
    """One family's cross-validated scores with its default parameters, and its folds' fit and predict seconds."""

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
    families: Mapping[str, ModelMaker],
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Progress = silent,
    jobs: int = 0,
) -> Choice:
    """Cross-validate every family (defaults) on the same stratified folds; the best macro-F1 wins, ties going
    to the family listed first (the faster ones are listed first). ``jobs``: fits at once in worker processes
    (0: one per core), every family's folds shared among them (``cross_validate_each``)."""
    if not families:
        raise ValidationError("auto needs at least one registered text family; FAMILIES is empty.")
    for algorithm in families:
        progress(_label(algorithm), 0, folds)
    evaluations = cross_validate_each(
        families, data.texts, data.labels, folds=folds, seed=seed, jobs=jobs,
        on_fold=lambda algorithm, fold: progress(_label(algorithm), fold + 1, folds),
    )  # fmt: skip
    scores = [FamilyScore(name, e.macro_f1, e.accuracy, e.seconds) for name, e in evaluations.items()]
    best = max(scores, key=lambda s: s.macro_f1)  # max keeps the first of equal scores
    ranked = sorted(scores, key=lambda s: -s.macro_f1)
    return Choice(best.algorithm, evaluations[best.algorithm], ranked)


def _label(algorithm: str) -> str:
    return f"cross-validation ({algorithm})"


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
