"""Stratified k-fold evaluation of a classifier and the figures a data scientist expects from it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.base import CityModel
from models.text.profile import confidence_counts


@dataclass
class Evaluation:
    """Out-of-fold predictions and their metrics (accuracy, macro-F1, per-class F1)."""

    folds: int
    seed: int
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    classes: list[str]
    confusion: list[list[int]]
    holdout_index: list[int] = field(default_factory=list)  # rows of the last fold, unseen by its model
    #: out-of-fold predictions per confidence bin (``models.text.profile``); empty when the family gives none
    confidence_counts: list[int] = field(default_factory=list)
    per_fold: list[dict[str, float]] = field(default_factory=list)  # accuracy and macro_f1 of each fold's rows
    seconds: float = 0.0  # the folds' fits and predictions, summed (wherever they ran)

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: accuracy, macro_f1 and ``f1_<label>`` per class, CJK labels kept (``f1_交通运输``).

        >>> Evaluation(5, 0, 0.9, 0.8, {"交通运输": 0.7, "劳动/社保": 0.9}, [], []).metrics()
        {'accuracy': 0.9, 'macro_f1': 0.8, 'f1_交通运输': 0.7, 'f1_劳动_社保': 0.9}
        """
        keys = _metric_keys(list(self.per_class_f1))
        per_class = {f"f1_{keys[c]}": v for c, v in self.per_class_f1.items()}
        spread: dict[str, float] = {}
        for key, values in self.fold_history().items():
            spread |= {f"{key}_mean": float(np.mean(values)), f"{key}_std": float(np.std(values))}
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, **per_class, **spread}

    def fold_history(self) -> dict[str, list[float]]:
        """Each fold's scores as MLflow metric histories, step = fold index: ``fold/accuracy``, ``fold/macro_f1``
        (``metrics()`` adds their ``_mean`` and ``_std``). ``accuracy``/``macro_f1`` stay the scores of all
        out-of-fold predictions pooled: logged as steps, MLflow would show the last fold's as the run's."""
        if not self.per_fold:
            return {}
        return {f"fold/{key}": [scores[key] for scores in self.per_fold] for key in ("accuracy", "macro_f1")}


#: what cross-validation fits on each fold: a family's class, or ``functools.partial(cls, **params)`` (picklable,
#: so that folds can run in worker processes)
ModelMaker = Callable[[], CityModel]

#: below this many characters of text × models, folds run here: starting worker processes (about 3 s) costs
#: more than it saves
PARALLEL_MIN_CHARS = 100_000


def cross_validate(
    make_model: ModelMaker,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    on_fold: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> Evaluation:
    """Stratified k-fold evaluation of one model; ``on_fold(i)`` after each fold (see ``cross_validate_each``)."""
    tick = (lambda _, fold: on_fold(fold)) if on_fold else None
    return cross_validate_each({"model": make_model}, texts, labels, folds=folds, seed=seed, on_fold=tick, jobs=jobs)[
        "model"
    ]


def cross_validate_each(
    makers: Mapping[str, ModelMaker],
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    on_fold: Callable[[str, int], None] | None = None,
    jobs: int = 1,
) -> dict[str, Evaluation]:
    """Each model evaluated on the same stratified folds: ``{name: Evaluation}``, ``on_fold(name, i)`` after each
    fold, in order. ``jobs``: fits at once in worker processes (0: one per core; ``registry.parallel``), all the
    models' folds shared among them; 1, or less than ``PARALLEL_MIN_CHARS`` of work, runs them here. Scores are the
    same either way."""
    from sklearn.model_selection import StratifiedKFold

    from registry.parallel import ordered_map

    x = np.asarray(texts, dtype=object)
    y = np.asarray(labels, dtype=object)
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y.astype(str)))
    parts = [
        (make, list(x[train]), list(y[train]), list(x[test])) for make in makers.values() for train, test in splits
    ]
    if sum(map(len, texts)) * len(makers) < PARALLEL_MIN_CHARS:
        jobs = 1
    outcomes = ordered_map(_fit_predict, parts, jobs)
    evaluations = {}
    for name in makers:
        fitted = []
        for fold in range(folds):
            fitted.append(next(outcomes))
            if on_fold:
                on_fold(name, fold)
        evaluations[name] = _evaluation(y, splits, fitted, seed)
    return evaluations


def _fit_predict(part: tuple[ModelMaker, list[str], list[str], list[str]]) -> tuple[np.ndarray, np.ndarray, float]:
    """One fold: fit on its training rows, predict its test rows (labels, top probabilities, seconds it took)."""
    make_model, train_texts, train_labels, test_texts = part
    started = time.perf_counter()
    model = make_model().fit(train_texts, train_labels)
    predicted = np.asarray(model.predict(test_texts), dtype=object)
    return predicted, _top_probability(model, test_texts), time.perf_counter() - started


def _evaluation(
    y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], fitted: list[tuple[np.ndarray, np.ndarray, float]],
    seed: int,
) -> Evaluation:  # fmt: skip
    from sklearn.metrics import confusion_matrix, f1_score

    predicted = np.empty(len(y), dtype=object)
    confidence = np.full(len(y), np.nan)
    for (_, test_index), (labels, top, _) in zip(splits, fitted, strict=True):
        predicted[test_index], confidence[test_index] = labels, top
    classes = sorted(set(y))
    scores = f1_score(y, predicted, labels=classes, average=None)
    pooled = _scores(y, predicted)  # over all out-of-fold predictions, not the mean of the folds
    return Evaluation(
        folds=len(splits),
        seed=seed,
        accuracy=pooled["accuracy"],
        macro_f1=pooled["macro_f1"],
        per_class_f1={c: float(s) for c, s in zip(classes, scores, strict=True)},
        classes=classes,
        confusion=confusion_matrix(y, predicted, labels=classes).tolist(),
        holdout_index=[int(i) for i in splits[-1][1]],
        confidence_counts=confidence_counts(confidence) if not np.isnan(confidence).all() else [],
        per_fold=[_scores(y[test], predicted[test]) for _, test in splits],
        seconds=sum(seconds for *_, seconds in fitted),
    )


def _top_probability(model: CityModel, texts: list[str]) -> np.ndarray:
    """The probability of the predicted class of each text (NaN when the family predicts no probabilities)."""
    try:
        return np.asarray(model.predict_proba(texts), dtype=np.float64).max(axis=1)
    except NotImplementedError:
        return np.full(len(texts), np.nan)


def _scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "macro_f1": float(f1_score(actual, predicted, average="macro")),
    }


def plot_confusion(evaluation: Evaluation, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    cjk = [f.name for f in font_manager.fontManager.ttflist if any(k in f.name for k in ("CJK", "Hei", "Song"))]
    names = evaluation.classes if cjk else [f"c{i}" for i in range(len(evaluation.classes))]
    size = max(4.0, 0.6 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    matrix = np.asarray(evaluation.confusion)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontfamily=cjk[:1] or None)
    ax.set_yticks(range(len(names)), names, fontfamily=cjk[:1] or None)
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(
            col,
            row,
            str(count),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if count > matrix.max() / 2 else "black",
        )
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(f"{title} — macro-F1 {evaluation.macro_f1:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _metric_keys(labels: list[str]) -> dict[str, str]:
    """Metric-name-safe keys of class labels. MLflow allows Unicode word characters (CJK included), '.', '-'
    and spaces; anything else ('/', '(', '、' ...) becomes '_'. Labels that clash after that get their index."""
    keys = {label: re.sub(r"[^\w.\- ]", "_", label.strip()) or "class" for label in labels}
    clashes = {k for k in keys.values() if list(keys.values()).count(k) > 1}
    return {label: f"{key}_{i}" if key in clashes else key for i, (label, key) in enumerate(keys.items())}
