"""Register the default Pingdu assets into an empty registry (what ``make run`` does first).

The two sample models are trained here, which needs the ``train`` extra; a serving install registers the rest and
says how to add the models (install the extra, or register ONNX models trained elsewhere) and run it again."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import knowledge_graph
import rules
from citymind import extras
from citymind.errors import MissingExtra
from knowledge_graph.defaults import PINGDU_YAML, load_pingdu
from knowledge_graph.snapshot import KnowledgeSnapshot
from models.components.base import available_components, register_component
from models.components.pipeline import REPORT_INTAKE, register_pipeline
from registry import AssetNotFound, AssetVersion, MlflowRegistry
from rules.service import register_ruleset
from training.champion import SAMPLE_TAG
from training.forecast.defaults import register_default_forecaster
from training.text.data import load_labelled_texts
from training.text.event_classifier import train_event_classifier
from training.text.sample_corpus import generate_sample_reports

KNOWLEDGE_DEFAULTS = Path(knowledge_graph.__file__).resolve().parent / "defaults"


def _pingdu_basics(reg: MlflowRegistry) -> AssetVersion:
    version = reg.register(
        "knowledge",
        "pingdu-basics",
        KNOWLEDGE_DEFAULTS / "pingdu.yaml",
        description="Pingdu's 5 sub-districts, 12 towns and municipal departments (defaults "
        "for a deployment to confirm).",
        tags={"city": "pingdu"},
    )
    return reg.set_alias(version.name, "production", version.version)


def _pingdu_knowledge(reg: MlflowRegistry) -> AssetVersion:
    basics = reg.resolve("pingdu-basics@production")
    return KnowledgeSnapshot(load_pingdu(PINGDU_YAML)).register(
        reg,
        "pingdu-knowledge",
        description="Pingdu knowledge graph: areas, departments, event taxonomy and "
        "dispatch catalogue (defaults to confirm).",
        lineage=[{"kind": "knowledge", "name": basics.name, "version": basics.version}],
    )


def _event_classifier(reg: MlflowRegistry) -> AssetVersion:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = generate_sample_reports(Path(tmp) / "pingdu_sample_reports.csv")
        # the lineage names what made the file (the templates shipped with citymind), not a folder that is gone
        source = "training/text/defaults/sample_reports.yaml (generated sample reports)"
        data = replace(load_labelled_texts(corpus, ["text"], "category"), source=source)
        result = train_event_classifier(
            data,
            registry=reg,
            name="event-classifier",
            folds=3,
            algorithm="char-ngram-linear",  # the served default's family stays fixed: its fast path is measured
            promote=True,
            extra_tags={SAMPLE_TAG: "true", "trained_on": "synthetic Pingdu-style reports"},
        )
    return result.version


def _pingdu_rules(reg: MlflowRegistry) -> AssetVersion:
    return register_ruleset(
        reg,
        "pingdu-rules",
        Path(rules.__file__).resolve().parent / "defaults" / "pingdu.yaml",
        description="Pingdu dispatch, air-quality and video rules (defaults for a deployment to confirm).",
    )


def _forecaster(reg: MlflowRegistry) -> AssetVersion:
    return register_default_forecaster(reg)


def _components(reg: MlflowRegistry) -> AssetVersion:
    """Every installed component (its name and default parameters), then the report-intake pipeline over them."""

    for cls in available_components().values():
        register_component(reg, cls())
    return register_pipeline(reg, REPORT_INTAKE)


#: (kind, name, alias it serves under, how to build and register it)
DEFAULTS: list[tuple[str, str, str, Callable[[MlflowRegistry], AssetVersion]]] = [
    ("knowledge", "pingdu-basics", "production", _pingdu_basics),
    ("knowledge", "pingdu-knowledge", "production", _pingdu_knowledge),
    ("rule", "pingdu-rules", "production", _pingdu_rules),
    ("model", "event-classifier", "champion", _event_classifier),
    ("model", "pm25-forecaster", "champion", _forecaster),
    ("component", "report-intake", "production", _components),
]


#: defaults trained on sample data at bootstrap (the ``train`` extra)
TRAINED = ("event-classifier", "pm25-forecaster")
#: defaults that need another default's alias first (the report-intake pipeline runs the classifier)
NEEDS = {"report-intake": "event-classifier@champion"}


def bootstrap(registry: MlflowRegistry | None = None, *, force: bool = False) -> Iterator[str]:
    """Register each default asset whose serving alias is unset; yield one line per asset. Without the ``train``
    extra, the sample models (and what needs them) are left out and :class:`MissingExtra` says what to do."""
    reg = registry or MlflowRegistry.from_settings()
    absent = extras.missing("train")
    waiting = []
    for kind, name, alias, build in DEFAULTS:
        if not force and _has_alias(reg, name, alias):
            yield f"present     {kind:<10} {name}@{alias}"
            continue
        needs = NEEDS.get(name)
        if (name in TRAINED and absent) or (needs and not _has_alias(reg, *needs.split("@"))):
            waiting.append(name)
            why = "trained here on sample data: needs the train extra" if name in TRAINED else f"needs {needs}"
            yield f"waiting     {kind:<10} {name}@{alias} ({why})"
            continue
        version = build(reg)
        yield f"registered  {kind:<10} {name}/{version.version} @{alias}"
    if waiting:
        raise MissingExtra(
            f"not registered: {', '.join(waiting)}. The sample models are trained at bootstrap, which needs the "
            f"'train' extra (missing: {', '.join(absent)}): {extras.install_hint()}, then run `citymind bootstrap` "
            "again. Or register models trained elsewhere, e.g. `citymind registry register --kind model --name "
            "event-classifier --file model.onnx --alias champion`, and run it again.",
            extra="train",
            missing=absent,
        )


def _has_alias(reg: MlflowRegistry, name: str, alias: str) -> bool:
    try:
        return alias in reg.get(name).aliases
    except AssetNotFound:
        return False
