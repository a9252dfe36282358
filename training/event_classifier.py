"""Train, evaluate, export, check and register an event classifier: one MLflow run, one model version."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry import AssetNotFound, AssetVersion, LineageRef, MlflowRegistry
from training.algorithms import ensure_algorithm, family
from training.data import LabelledTexts
from training.evaluation import Evaluation, cross_validate, plot_confusion
from training.parity import ParityReport, check_parity

EXPERIMENT = "citymind-training"
PARAMS_TAG = "citymind.params"
EVAL_TAG = "citymind.evaluation"
ALGORITHM_TAG = "citymind.algorithm"


@dataclass
class TrainingResult:
    version: AssetVersion
    evaluation: Evaluation
    parity: ParityReport
    run_id: str
    promoted: bool
    comparison: dict[str, Any] = field(default_factory=dict)


def train_event_classifier(
    data: LabelledTexts,
    *,
    registry: MlflowRegistry,
    name: str = "event-classifier",
    params: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
    promote: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    extra_tags: Mapping[str, str] | None = None,
    algorithm: str = "char-ngram-linear",
) -> TrainingResult:
    """Evaluate by stratified k-fold, fit on all rows, export ONNX, check parity, register, maybe promote."""
    step = progress or (lambda label, done, total: None)
    cls = family(algorithm)
    model_params = {**cls().get_params(), **(params or {})}
    step("cross-validation", 0, folds)
    evaluation = cross_validate(
        lambda: cls(**model_params),
        data.texts,
        data.labels,
        folds=folds,
        seed=seed,
        on_fold=lambda i: step("cross-validation", i + 1, folds),
    )
    step("fit on all rows", 0, 1)
    model = cls(**model_params).fit(data.texts, data.labels)
    onnx_model = model.to_onnx()
    holdout = [data.texts[i] for i in evaluation.holdout_index[:300]]
    parity = check_parity(model, onnx_model, holdout)  # raises before anything is registered
    card = ensure_algorithm(registry, algorithm)
    with _run(registry, name) as run:
        run_id = run.info.run_id
        _log_run(registry, run_id, data, model_params, evaluation, parity, name)
        lineage = [
            LineageRef("algorithm", card.name, str(card.version)),
            LineageRef("dataset", Path(data.source).name, None, {"digest": data.digest, "source": data.source}),
            LineageRef("run", run_id, None, {"experiment": EXPERIMENT}),
        ]
        tags = {
            **cls.tags.to_mlflow_tags(),
            ALGORITHM_TAG: algorithm,
            PARAMS_TAG: json.dumps(model_params, ensure_ascii=False),
            EVAL_TAG: json.dumps({"digest": data.digest, "folds": folds, "seed": seed}),
            "macro_f1": f"{evaluation.macro_f1:.4f}",
            "accuracy": f"{evaluation.accuracy:.4f}",
            "classes": json.dumps(getattr(model, "classes_", []), ensure_ascii=False),
            **(extra_tags or {}),
        }
        version = registry.register(
            "model",
            name,
            onnx_model,
            description=f"Event classifier of citizen reports ({algorithm}).",
            tags=tags,
            lineage=lineage,
            signature=model.signature().to_mlflow(),
        )
    registry.set_alias(name, "challenger", version.version)
    comparison = compare_with_champion(registry, name, evaluation, data, folds, seed)
    promoted = promote or comparison["challenger_wins"]
    if promoted:
        version = registry.set_alias(name, "champion", version.version)
    return TrainingResult(registry.version(name, version.version), evaluation, parity, run_id, promoted, comparison)


def compare_with_champion(
    registry: MlflowRegistry, name: str, evaluation: Evaluation, data: LabelledTexts, folds: int, seed: int
) -> dict[str, Any]:
    """The champion's macro-F1 on the same evaluation: reused when it was measured on the same data and
    folds, otherwise re-measured by cross-validating the champion's parameters on these folds."""
    try:
        champion = registry.resolve(f"{name}@champion")
    except AssetNotFound:
        return {
            "champion": None,
            "challenger_macro_f1": evaluation.macro_f1,
            "challenger_wins": True,
            "how": "no champion yet",
        }
    same = json.loads(champion.tags.get(EVAL_TAG, "{}")) == {"digest": data.digest, "folds": folds, "seed": seed}
    if same:
        score, how = float(champion.tags["macro_f1"]), "same data and folds (stored)"
    elif PARAMS_TAG in champion.tags:
        params = json.loads(champion.tags[PARAMS_TAG])
        if "ngram_range" in params:
            params["ngram_range"] = tuple(params["ngram_range"])
        cls = family(champion.tags.get(ALGORITHM_TAG, "char-ngram-linear"))
        score = cross_validate(lambda: cls(**params), data.texts, data.labels, folds=folds, seed=seed).macro_f1
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
        "challenger_wins": evaluation.macro_f1 > score,
        "how": how,
    }


@contextmanager
def _run(registry: MlflowRegistry, name: str) -> Iterator[Any]:
    client = registry.client
    run = client.create_run(
        registry.experiment_id(EXPERIMENT),
        run_name=f"train-{name}",
        tags={"citymind.asset": name, "citymind.kind": "model"},
    )
    try:
        yield run
    except BaseException:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id)


def _log_run(
    registry: MlflowRegistry,
    run_id: str,
    data: LabelledTexts,
    params: Mapping[str, Any],
    evaluation: Evaluation,
    parity: ParityReport,
    name: str,
) -> None:
    from mlflow.entities import Metric, Param

    client = registry.client
    logged = {
        **{k: str(v) for k, v in params.items()},
        "folds": str(evaluation.folds),
        "seed": str(evaluation.seed),
        "dataset_digest": data.digest,
        "dataset_source": data.source,
        "rows": str(len(data.texts)),
    }
    metrics = {**evaluation.metrics(), "onnx_parity_max_abs_diff": parity.max_abs_diff}
    client.log_batch(
        run_id,
        params=[Param(k, v[:6000]) for k, v in logged.items()],
        metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
    )
    _log_dataset(client, run_id, data)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "evaluation.json"
        report.write_text(
            json.dumps(
                {
                    "per_class_f1": evaluation.per_class_f1,
                    "classes": evaluation.classes,
                    "confusion": evaluation.confusion,
                    "macro_f1": evaluation.macro_f1,
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
        client.log_artifact(run_id, str(report))
        client.log_artifact(run_id, str(plot_confusion(evaluation, Path(tmp) / "confusion_matrix.png", name)))


def _log_dataset(client: Any, run_id: str, data: LabelledTexts) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = Dataset(
        name=Path(data.source).name,
        digest=data.digest,
        source_type="local",
        source=json.dumps({"uri": data.source}),
        profile=json.dumps({"rows": len(data.texts), "classes": len(data.classes)}),
    )
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
