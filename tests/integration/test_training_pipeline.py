"""The training pipeline on the SAMPLE corpus against a real embedded MLflow: every step reports progress, the
per-class metrics keep their Chinese labels, and the registered version says what its ONNX input really is."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from registry import MlflowRegistry
from training.text.data import LabelledTexts, load_labelled_texts
from training.text.event_classifier import ONNX_INPUT_TAG, train_event_classifier
from training.text.sample_corpus import generate_sample_reports


class Recorder:
    """A progress callback that remembers every report, in order."""

    def __init__(self) -> None:
        self.reports: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def __call__(self, label: str, done: int, total: int) -> None:
        self.reports[label].append((done, total))


def sample(tmp_path: Path, seed: int) -> LabelledTexts:
    path = generate_sample_reports(tmp_path / f"reports-{seed}.csv", per_category=20, seed=seed)
    return load_labelled_texts(path, ["text"], "category")


@pytest.fixture
def registry(tmp_path: Path) -> MlflowRegistry:
    return MlflowRegistry(
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
        cache_dir=tmp_path / "cache",
    )


def test_every_step_reports_progress_and_the_champion_is_rechecked(registry: MlflowRegistry, tmp_path: Path) -> None:
    first = Recorder()
    train_event_classifier(
        sample(tmp_path, 1), registry=registry, folds=3, progress=first, algorithm="char-ngram-linear"
    )
    assert list(first.reports) == [
        "cross-validation",
        "fit on all rows",
        "export ONNX",
        "ONNX parity",
        "register",
        "promote to champion",
    ]
    assert first.reports["cross-validation"] == [(0, 3), (1, 3), (2, 3), (3, 3), (3, 3)]
    assert all(reports[-1][0] == reports[-1][1] for reports in first.reports.values())

    second = Recorder()
    result = train_event_classifier(
        sample(tmp_path, 2), registry=registry, folds=3, progress=second, algorithm="char-ngram-linear"
    )
    assert second.reports["champion re-check"][0] == (0, 3) and second.reports["champion re-check"][-1] == (3, 3)
    assert result.comparison["how"] == "champion's parameters cross-validated on these folds"


def test_per_class_metrics_keep_the_chinese_labels(registry: MlflowRegistry, tmp_path: Path) -> None:
    data = sample(tmp_path, 1)
    result = train_event_classifier(data, registry=registry, folds=3)
    metrics = registry.client.get_run(result.run_id).data.metrics
    assert {f"f1_{label}" for label in data.classes} <= set(metrics)
    assert metrics["f1_市容环境"] == pytest.approx(result.evaluation.per_class_f1["市容环境"])


def test_the_registered_version_says_its_onnx_takes_cleaned_text(registry: MlflowRegistry, tmp_path: Path) -> None:
    from models.onnx_session import make_session

    data = sample(tmp_path, 1)
    version = train_event_classifier(data, registry=registry, folds=3, algorithm="char-ngram-linear").version
    assert version.tags[ONNX_INPUT_TAG] == "clean_text:max_chars=2000 (preprocessed, not raw text)"
    assert "Input 'text' is not raw text" in version.description
    assert "models.text.cleaning.clean_text" in version.description
    session = make_session(registry.load(version.uri))  # the .onnx file
    assert session.get_modelmeta().description == version.description.split(". ", 1)[1]


def test_auto_compares_every_family_on_the_same_folds_and_logs_the_table_and_chart(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    from training.algorithms import FAMILIES

    steps = Recorder()
    result = train_event_classifier(sample(tmp_path, 1), registry=registry, folds=3, progress=steps)
    assert result.choice is not None
    scores = {s.algorithm: s.macro_f1 for s in result.choice.scores}
    assert set(scores) == set(FAMILIES)
    assert [f"cross-validation ({name})" for name in FAMILIES] == list(steps.reports)[: len(FAMILIES)]
    assert scores[result.choice.algorithm] == max(scores.values()) == result.evaluation.macro_f1
    assert result.version.tags["citymind.algorithm"] == result.choice.algorithm
    run = registry.client.get_run(result.run_id)
    assert run.data.tags["citymind.auto.chosen"] == result.choice.algorithm
    assert run.data.params["algorithm"] == "auto"
    for name, score in scores.items():
        assert run.data.metrics[f"auto/{name}/macro_f1"] == pytest.approx(score)
    artifacts = {a.path for a in registry.client.list_artifacts(result.run_id)}
    assert {"family_comparison.json", "family_comparison.png"} <= artifacts
    table = json.loads(
        Path(registry.client.download_artifacts(result.run_id, "family_comparison.json", str(tmp_path))).read_text()
    )
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    assert {row["algorithm"]: row["chosen"] for row in rows} == {n: n == result.choice.algorithm for n in scores}


def test_auto_refuses_params_without_a_family(registry: MlflowRegistry, tmp_path: Path) -> None:
    from registry import ValidationError

    with pytest.raises(ValidationError, match="needs one family: pass --algorithm"):
        train_event_classifier(sample(tmp_path, 1), registry=registry, folds=3, params={"C": 1.0})


def test_the_knowledge_graph_s_category_words_are_learned_logged_and_in_the_lineage(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    from knowledge_graph.defaults import load_pingdu
    from knowledge_graph.snapshot import KnowledgeSnapshot
    from training.text.event_classifier import PARAMS_TAG
    from training.text.knowledge import KNOWLEDGE_TAG, category_knowledge

    data = sample(tmp_path, 1)
    missing, why = category_knowledge(registry, "pingdu-knowledge@production", data.classes)
    assert missing is None and "is not registered" in why
    KnowledgeSnapshot(load_pingdu()).register(registry, "pingdu-knowledge")
    knowledge, _ = category_knowledge(registry, "pingdu-knowledge@production", data.classes)
    assert knowledge is not None and set(data.classes) <= set(knowledge.terms)
    elsewhere, why = category_knowledge(registry, "pingdu-knowledge@production", [*data.classes, "股票"])
    assert elsewhere is None and "not all top categories" in why

    result = train_event_classifier(data, registry=registry, folds=3, knowledge=knowledge)
    assert result.version.tags["citymind.algorithm"] == "char-ngram-linear"  # the family that takes a taxonomy
    assert result.knowledge == knowledge and result.parity.ok
    assert json.loads(result.version.tags[KNOWLEDGE_TAG]) == knowledge.summary()
    assert "taxonomy" not in json.loads(result.version.tags[PARAMS_TAG])
    lineage = {ref.kind: ref for ref in registry.lineage("event-classifier", result.version.version)}
    assert (lineage["knowledge"].name, lineage["knowledge"].version) == ("pingdu-knowledge", knowledge.version)
    logged = registry.client.download_artifacts(result.run_id, "taxonomy.json", str(tmp_path))
    assert json.loads(Path(logged).read_text(encoding="utf-8")) == knowledge.terms

    again = train_event_classifier(sample(tmp_path, 2), registry=registry, folds=3, algorithm="char-ngram-linear")
    assert again.knowledge is None and KNOWLEDGE_TAG not in again.version.tags
    assert again.comparison["how"] == "champion's parameters cross-validated on these folds"


def test_a_model_trained_on_real_data_replaces_the_bootstrap_sample(registry: MlflowRegistry, tmp_path: Path) -> None:
    """Bootstrap's classifier (tagged sample) is a placeholder: the first model a city trains takes over even when
    its score ties or trails the sample's on these folds (the same family's defaults on the same data tie)."""
    data = sample(tmp_path, 1)
    kwargs = {"registry": registry, "folds": 3, "algorithm": "char-ngram-linear"}
    train_event_classifier(data, extra_tags={"sample": "true"}, promote=True, **kwargs)  # type: ignore[arg-type]
    real = train_event_classifier(data, **kwargs)  # type: ignore[arg-type]
    assert real.promoted and real.comparison["champion"] == 1 and real.comparison["challenger_wins"]
    assert real.comparison["how"].startswith("the champion is bootstrap's sample")
    assert registry.resolve("event-classifier@champion").version == 2
    again = train_event_classifier(data, **kwargs)  # type: ignore[arg-type]
    assert not again.promoted and again.comparison["how"] == "same data and folds (stored)"
