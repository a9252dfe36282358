"""Train, evaluate, export, check and register an event classifier: one MLflow run, whose model is the version."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.base import CityModel
from models.text._export import PREPROCESS_METADATA
from models.text.profile import profile_tags
from registry import AssetNotFound, AssetVersion, LineageRef, MlflowRegistry, ValidationError
from training.algorithms import FAMILIES, ensure_algorithm, family
from training.champion import REPLACES_SAMPLE, beats, is_sample
from training.mlflow_run import log_dataset, log_json, log_steps, log_values, now_ms, training_run
from training.progress import Progress, silent, timed
from training.text.auto import AUTO, Choice, choose_family, comparison_table, plot_comparison
from training.text.data import LabelledTexts
from training.text.evaluation import Evaluation, cross_validate, plot_confusion
from training.text.holdout import HoldoutScores, score_holdout
from training.text.knowledge import KNOWLEDGE_TAG, CategoryKnowledge, knowledge_tag, logged_params, with_knowledge
from training.text.parity import ParityReport, check_parity

if TYPE_CHECKING:
    from onnx import ModelProto

EXPERIMENT = "citymind-training"
PARAMS_TAG = "citymind.params"
EVAL_TAG = "citymind.evaluation"
ALGORITHM_TAG = "citymind.algorithm"
ONNX_INPUT_TAG = "citymind.onnx_input"
HOLDOUT_TAG = "citymind.holdout"


@dataclass
class TrainingResult:
    version: AssetVersion
    evaluation: Evaluation
    parity: ParityReport
    run_id: str
    promoted: bool
    comparison: dict[str, Any] = field(default_factory=dict)
    holdout: HoldoutScores | None = None
    choice: Choice | None = None  # with ``algorithm="auto"``: every family's scores, best first
    knowledge: CategoryKnowledge | None = None  # the categories' terms the families that take a taxonomy got


def train_event_classifier(
    data: LabelledTexts,
    *,
    registry: MlflowRegistry,
    name: str = "event-classifier",
    params: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
    promote: bool = False,
    progress: Progress | None = None,
    extra_tags: Mapping[str, str] | None = None,
    algorithm: str = AUTO,
    holdout: LabelledTexts | None = None,
    provenance: Mapping[str, str] | None = None,
    jobs: int = 0,
    knowledge: CategoryKnowledge | None = None,
) -> TrainingResult:
    """Evaluate by stratified k-fold, fit on all rows, export ONNX, check parity, register, maybe promote.

    ``holdout``: the newest rows, never trained on (``data`` is the older part); the new model and the champion
    are both scored on it (``holdout_macro_f1``, ``champion_holdout_macro_f1``) and that decides which wins.
    ``provenance``: where ``data`` came from (an event query and its digest), logged as run parameters and tags
    and kept on the model version. ``jobs``: folds fitted at once in worker processes (0: one per core; small data
    stays in this process), the same scores whatever it is. ``knowledge``: the catalogue's terms for the labels
    (``training.text.knowledge.category_knowledge``), given to every family that takes a ``taxonomy``; logged as
    ``taxonomy.json``, a tag and the version's lineage.

    ``progress(step, done, total)`` hears every step: cross-validation (per fold), fit, ONNX export, parity,
    the holdout, registration, the champion re-check (per fold, when the champion must be re-measured) and
    promotion.

    ``algorithm="auto"`` (the default) cross-validates every family of ``training.algorithms.FAMILIES`` with its
    defaults on the same folds and keeps the best (``TrainingResult.choice``); ``params`` then needs a family."""
    step, started = progress or silent, now_ms()
    _check_folds(data, folds)
    choice = None
    if algorithm == AUTO:
        if params:
            raise ValidationError(
                f"--params {dict(params)} needs one family: pass --algorithm with one of {sorted(FAMILIES)}, "
                "or leave --params out to let auto compare the families with their defaults."
            )
        makers = with_knowledge(FAMILIES, knowledge)
        choice = choose_family(data, makers, folds=folds, seed=seed, progress=step, jobs=jobs)
        algorithm = choice.algorithm
    cls = family(algorithm)
    model_params = _with_taxonomy({**cls().get_params(), **(params or {})}, knowledge)
    used = knowledge if model_params.get("taxonomy") else None  # the chosen family takes the catalogue's words
    if choice is not None:
        evaluation = choice.evaluation
    else:
        evaluation = timed(
            step,
            "cross-validation",
            folds,
            lambda tick: _cross_validate(cls, model_params, data, folds, seed, tick, jobs),
        )
    trained = _fit_export_check(cls, model_params, data, evaluation, step, holdout, started)
    scores = None
    if holdout is not None:
        scores = timed(step, "newest holdout", 1, lambda tick: score_holdout(trained.model, holdout, registry, name))
    tags = {**(extra_tags or {}), **_provenance_tags(provenance, scores)}
    version, run_id = timed(
        step,
        "register",
        1,
        lambda tick: _register(registry, name, algorithm, data, trained, tags, provenance or {}, scores, choice, used),
    )
    if scores is not None and (scores.champion is None or scores.champion_macro_f1 is not None):
        comparison = _holdout_comparison(scores)
    else:
        comparison = compare_with_champion(
            registry, name, evaluation, data, folds, seed, progress=step, jobs=jobs, knowledge=knowledge
        )
    promoted = promote or comparison["challenger_wins"]
    if promoted:
        version = timed(
            step, "promote to champion", 1, lambda tick: registry.set_alias(name, "champion", version.version)
        )
    return TrainingResult(
        registry.version(name, version.version),
        evaluation,
        trained.parity,
        run_id,
        promoted,
        comparison,
        scores,
        choice,
        used,
    )


def _with_taxonomy(params: dict[str, Any], knowledge: CategoryKnowledge | None) -> dict[str, Any]:
    """A family's parameters with the catalogue's terms, when it takes a taxonomy and there are some."""
    return {**params, "taxonomy": knowledge.terms} if knowledge and "taxonomy" in params else params


def _provenance_tags(provenance: Mapping[str, str] | None, scores: HoldoutScores | None) -> dict[str, str]:
    """The model version's tags for where its data came from and how it did on the newest slice."""
    tags = {f"citymind.source.{k}": v for k, v in (provenance or {}).items()}
    if scores is not None:
        tags[HOLDOUT_TAG] = json.dumps({**scores.metrics(), "champion": scores.champion, "note": scores.note})
        tags["holdout_macro_f1"] = f"{scores.macro_f1:.4f}"
    return tags


def _holdout_comparison(scores: HoldoutScores) -> dict[str, Any]:
    """Champion and challenger on the same newest slice (the challenger never trained on it)."""
    if scores.champion is None:
        return {"champion": None, "challenger_macro_f1": scores.macro_f1, "challenger_wins": True,
                "how": f"no champion yet; {scores.rows} newest rows held out"}  # fmt: skip
    assert scores.champion_macro_f1 is not None
    return {
        "champion": scores.champion,
        "champion_macro_f1": scores.champion_macro_f1,
        "challenger_macro_f1": scores.macro_f1,
        "challenger_wins": scores.macro_f1 > scores.champion_macro_f1,
        "how": f"both scored on the same {scores.rows} newest rows (time-ordered holdout)",
    }


@dataclass(frozen=True)
class _Trained:
    model: CityModel
    onnx_model: ModelProto
    params: dict[str, Any]
    evaluation: Evaluation
    parity: ParityReport
    started: int  # when the training began (ms since the epoch): its MLflow run starts then


def _cross_validate(
    cls: type[CityModel],
    params: dict[str, Any],
    data: LabelledTexts,
    folds: int,
    seed: int,
    tick: Callable[[int], None],
    jobs: int,
) -> Evaluation:
    make = partial(cls, **params)  # picklable: the folds may run in worker processes
    return cross_validate(
        make, data.texts, data.labels, folds=folds, seed=seed, on_fold=lambda i: tick(i + 1), jobs=jobs
    )


def _fit_export_check(
    cls: type[CityModel],
    params: dict[str, Any],
    data: LabelledTexts,
    evaluation: Evaluation,
    step: Progress,
    newest: LabelledTexts | None,
    started: int,
) -> _Trained:
    """Fit on all rows, export ONNX and check parity on held-out rows (the newest, when they are held out); a
    parity failure raises before anything is registered."""
    model = timed(step, "fit on all rows", 1, lambda tick: cls(**params).fit(data.texts, data.labels))
    onnx_model = timed(step, "export ONNX", 1, lambda tick: model.to_onnx())
    holdout = newest.texts[:300] if newest else [data.texts[i] for i in evaluation.holdout_index[:300]]
    parity = timed(step, "ONNX parity", 1, lambda tick: check_parity(model, onnx_model, holdout))
    return _Trained(model, onnx_model, params, evaluation, parity, started)


def _register(
    registry: MlflowRegistry,
    name: str,
    algorithm: str,
    data: LabelledTexts,
    trained: _Trained,
    extra_tags: Mapping[str, str] | None,
    provenance: Mapping[str, str],
    scores: HoldoutScores | None,
    choice: Choice | None = None,
    used: CategoryKnowledge | None = None,
) -> tuple[AssetVersion, str]:
    """One MLflow run with params, metrics, plots and the model; the version made from it (lineage, alias
    challenger). ``used``: the knowledge whose catalogue words the model learned, logged and in its lineage."""
    card = ensure_algorithm(registry, algorithm)
    evaluation = trained.evaluation
    with training_run(registry, name, EXPERIMENT, trained.started) as run:
        run_id = run.info.run_id
        _log_run(registry, run_id, data, trained.params, evaluation, trained.parity, name)
        if choice is not None:
            _log_choice(registry, run_id, choice)
        if used is not None:
            registry.client.set_tag(run_id, KNOWLEDGE_TAG, knowledge_tag(used))
            log_json(registry.client, run_id, "taxonomy.json", used.terms)
        if provenance or scores is not None:
            log_values(registry.client, run_id, provenance, scores.metrics() if scores else {})
            for key, value in _provenance_tags(provenance, None).items():
                registry.client.set_tag(run_id, key, value)
        lineage = [
            LineageRef("algorithm", card.name, str(card.version)),
            LineageRef("dataset", Path(data.source).name, None, {"digest": data.digest, "source": data.source}),
            LineageRef("run", run_id, None, {"experiment": EXPERIMENT}),
        ]
        if provenance:  # the query the rows came from (e.g. the event records), with its own digest
            lineage.insert(2, LineageRef("dataset", provenance.get("name", "provenance"), None, dict(provenance)))
        if used is not None:  # the knowledge snapshot whose categories' terms the model learned from
            lineage.insert(1, used.lineage())
        tags = {
            **type(trained.model).tags.to_mlflow_tags(),
            ALGORITHM_TAG: algorithm,
            PARAMS_TAG: json.dumps(logged_params(trained.params), ensure_ascii=False),
            EVAL_TAG: json.dumps({"digest": data.digest, "folds": evaluation.folds, "seed": evaluation.seed}),
            ONNX_INPUT_TAG: _metadata(trained.onnx_model, PREPROCESS_METADATA) + " (preprocessed, not raw text)",
            "macro_f1": f"{evaluation.macro_f1:.4f}",
            "accuracy": f"{evaluation.accuracy:.4f}",
            "classes": json.dumps(getattr(trained.model, "classes_", []), ensure_ascii=False),
            **profile_tags(data.labels, evaluation.confidence_counts),  # what drift compares recent events with
            **({KNOWLEDGE_TAG: knowledge_tag(used)} if used else {}),
            **(extra_tags or {}),
        }
        version = registry.register(
            "model",
            name,
            trained.onnx_model,
            description=f"Event classifier of citizen reports ({algorithm}). {trained.onnx_model.doc_string}",
            tags=tags,
            lineage=lineage,
            signature=trained.model.signature().to_mlflow(),
            run_id=run_id,
        )
    registry.set_alias(name, "challenger", version.version)
    return version, run_id


def _metadata(onnx_model: ModelProto, key: str) -> str:
    return next(entry.value for entry in onnx_model.metadata_props if entry.key == key)


def compare_with_champion(
    registry: MlflowRegistry,
    name: str,
    evaluation: Evaluation,
    data: LabelledTexts,
    folds: int,
    seed: int,
    progress: Progress = silent,
    jobs: int = 0,
    knowledge: CategoryKnowledge | None = None,
) -> dict[str, Any]:
    """The champion's macro-F1 on the same evaluation: reused when it was measured on the same data and
    folds, otherwise re-measured by cross-validating the champion's parameters on these folds (``jobs`` at once);
    a champion trained with a taxonomy is re-measured with ``knowledge``'s (today's catalogue), or without one
    when there is none today."""
    try:
        champion = registry.resolve(f"{name}@champion")
    except AssetNotFound:
        return {
            "champion": None,
            "challenger_macro_f1": evaluation.macro_f1,
            "challenger_wins": True,
            "how": "no champion yet",
        }
    if is_sample(champion.tags):
        return {
            "champion": champion.version,
            "challenger_macro_f1": evaluation.macro_f1,
            "challenger_wins": True,
            "how": REPLACES_SAMPLE,
        }
    same = json.loads(champion.tags.get(EVAL_TAG, "{}")) == {"digest": data.digest, "folds": folds, "seed": seed}
    if same:
        score, how = float(champion.tags["macro_f1"]), "same data and folds (stored)"
    elif PARAMS_TAG in champion.tags:
        params = json.loads(champion.tags[PARAMS_TAG])
        if "ngram_range" in params:
            params["ngram_range"] = tuple(params["ngram_range"])
        cls = family(champion.tags.get(ALGORITHM_TAG, "char-ngram-linear"))
        if KNOWLEDGE_TAG in champion.tags and knowledge is not None:
            params["taxonomy"] = knowledge.terms
        score = timed(
            progress,
            "champion re-check",
            folds,
            lambda tick: _cross_validate(cls, params, data, folds, seed, tick, jobs),
        ).macro_f1
        how = "champion's parameters cross-validated on these folds"
    else:
        return {
            "champion": champion.version,
            "challenger_macro_f1": evaluation.macro_f1,
            "challenger_wins": False,
            "how": "champion has no training parameters to compare on; use --promote to replace it",
        }
    return {
        "champion": champion.version,
        "champion_macro_f1": score,
        "challenger_macro_f1": evaluation.macro_f1,
        "challenger_wins": beats(evaluation.macro_f1, score),
        "how": how,
    }


def _log_run(
    registry: MlflowRegistry,
    run_id: str,
    data: LabelledTexts,
    params: Mapping[str, Any],
    evaluation: Evaluation,
    parity: ParityReport,
    name: str,
) -> None:
    client = registry.client
    logged = {
        **{k: str(v) for k, v in logged_params(params).items()},
        "folds": str(evaluation.folds),
        "seed": str(evaluation.seed),
        "dataset_digest": data.digest,
        "dataset_source": data.source,
        "rows": str(len(data.texts)),
    }
    log_values(client, run_id, logged, {**evaluation.metrics(), "onnx_parity_max_abs_diff": parity.max_abs_diff})
    log_steps(client, run_id, evaluation.fold_history())
    log_dataset(client, run_id, data.source, data.digest, {"rows": len(data.texts), "classes": len(data.classes)})
    report = {k: getattr(evaluation, k) for k in ("per_class_f1", "classes", "confusion", "macro_f1")}
    log_json(client, run_id, "evaluation.json", report)
    with tempfile.TemporaryDirectory() as tmp:
        client.log_artifact(run_id, str(plot_confusion(evaluation, Path(tmp) / "confusion_matrix.png", name)))


def _log_choice(registry: MlflowRegistry, run_id: str, choice: Choice) -> None:
    """auto's comparison on the run: a metric per family, the table and its chart, the chosen family as a tag."""
    client = registry.client
    metrics = {f"auto/{score.algorithm}/macro_f1": score.macro_f1 for score in choice.scores}
    log_values(client, run_id, {"algorithm": AUTO}, metrics)
    client.set_tag(run_id, "citymind.auto.chosen", choice.algorithm)
    client.log_table(run_id, comparison_table(choice.scores, choice.algorithm), "family_comparison.json")
    with tempfile.TemporaryDirectory() as tmp:
        chart = plot_comparison(choice.scores, choice.algorithm, Path(tmp) / "family_comparison.png")
        client.log_artifact(run_id, str(chart))


def _check_folds(data: LabelledTexts, folds: int) -> None:
    """Stratified folds need every class in each of them."""
    label, smallest = min(Counter(data.labels).items(), key=lambda item: item[1])
    if smallest < folds:
        raise ValidationError(
            f"{data.source}: class {label!r} has {smallest} example(s); {folds}-fold cross-validation needs at least "
            f"{folds} of each class. Add examples, or pass --folds {max(2, smallest)}"
            + (" (and fewer classes)." if smallest < 2 else ".")
        )
