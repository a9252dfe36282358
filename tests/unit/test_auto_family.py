"""``--algorithm auto``: every text family on the same folds, the best kept, ties to the first listed."""

from __future__ import annotations

import doctest
from functools import partial
from pathlib import Path

import pytest

import training.text.auto as auto
import training.text.evaluation as evaluation
from models.base import CityModel
from models.text.event_classifier import EventClassifier
from models.text.short_text import ShortTextClassifier
from registry import ValidationError
from training.text.auto import FamilyScore, choose_family, plot_comparison
from training.text.data import LabelledTexts

TEXTS = ["路灯不亮", "路灯坏了", "路灯闪烁", "噪音扰民", "夜间施工噪音", "广场舞噪音"] * 3
LABELS = ["市容环境"] * 3 + ["生态环境"] * 3


@pytest.fixture(scope="module")
def data() -> LabelledTexts:
    return LabelledTexts(TEXTS, LABELS * 3, "inline", "sha256:test")


def test_every_family_is_scored_on_the_same_folds_and_the_best_is_chosen(data: LabelledTexts) -> None:
    families: dict[str, type[CityModel]] = {
        "char-ngram-linear": EventClassifier,
        "nbsvm-short-text": ShortTextClassifier,
    }
    choice = choose_family(data, families, folds=3)
    assert {s.algorithm for s in choice.scores} == set(families)
    assert choice.scores[0].macro_f1 >= choice.scores[-1].macro_f1
    assert choice.evaluation.macro_f1 == max(s.macro_f1 for s in choice.scores)
    assert choice.evaluation.folds == 3 and all(s.seconds > 0 for s in choice.scores)


def test_a_tie_goes_to_the_family_listed_first(data: LabelledTexts) -> None:
    choice = choose_family(data, {"first": EventClassifier, "second": EventClassifier}, folds=3)
    assert choice.algorithm == "first"


def test_folds_in_worker_processes_score_as_here_and_report_in_order(
    data: LabelledTexts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "PARALLEL_MIN_CHARS", 0)  # these few texts would otherwise stay here
    makers = {"char": EventClassifier, "unsure": partial(EventClassifier, C=1e-6)}  # C≈0: probabilities ≈ 0.5
    ticks: list[tuple[str, int]] = []
    here = evaluation.cross_validate_each(makers, data.texts, data.labels, folds=3, jobs=1)
    there = evaluation.cross_validate_each(
        makers, data.texts, data.labels, folds=3, jobs=2, on_fold=lambda name, fold: ticks.append((name, fold))
    )
    assert ticks == [("char", 0), ("char", 1), ("char", 2), ("unsure", 0), ("unsure", 1), ("unsure", 2)]
    for name in makers:
        assert there[name].confusion == here[name].confusion and there[name].per_fold == here[name].per_fold
        assert there[name].confidence_counts == here[name].confidence_counts and there[name].seconds > 0
    # each model's folds went to its own evaluation: the unsure one's predictions sit in the lowest confidence bins
    assert there["char"].confidence_counts != there["unsure"].confidence_counts


def test_no_family_is_an_error(data: LabelledTexts) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        choose_family(data, {})


def test_the_chart_is_written(tmp_path: Path) -> None:
    scores = [FamilyScore("a", 0.9, 0.91, 1.5), FamilyScore("b", 0.8, 0.82, 0.5)]
    path = plot_comparison(scores, "a", tmp_path / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(auto)
    assert result.attempted > 0 and result.failed == 0
