"""The MLflow run of a forecaster's training: parameters, metrics, ``evaluation.json``, ``forecast.png`` and the
dataset with its digest."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from registry import MlflowRegistry
from training.forecast_evaluation import ForecastEvaluation
from training.forecast_parity import ForecastParity
from training.series_data import HourlySeries


@contextmanager
def training_run(registry: MlflowRegistry, name: str, experiment: str) -> Iterator[Any]:
    """A run in ``experiment`` marked FINISHED on success and FAILED on any exception."""
    client = registry.client
    run = client.create_run(
        registry.experiment_id(experiment),
        run_name=f"train-{name}",
        tags={"citymind.asset": name, "citymind.kind": "model"},
    )
    try:
        yield run
    except BaseException:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id)


def log_forecast_run(
    registry: MlflowRegistry,
    run_id: str,
    series: HourlySeries,
    params: Mapping[str, Any],
    evaluation: ForecastEvaluation,
    parity: ForecastParity,
    plot: Path,
) -> None:
    from mlflow.entities import Metric, Param

    client = registry.client
    logged = {
        **{k: json.dumps(v) if isinstance(v, list | tuple) else str(v) for k, v in params.items()},
        "target": series.target,
        "stride": str(evaluation.stride),
        "test_fraction": str(evaluation.test_fraction),
        "statsmodels": str(evaluation.settings.get("statsmodels")),
        "dataset_digest": series.digest,
        "dataset_source": series.source,
        "hours": str(len(series.frame)),
        "hours_inserted": str(series.inserted),
        "hours_missing": str(series.missing),
    }
    metrics = {**evaluation.metrics(), "onnx_parity_max_rel_diff": parity.max_rel_diff}
    client.log_batch(
        run_id,
        params=[Param(k, v[:6000]) for k, v in logged.items()],
        metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
    )
    _log_dataset(client, run_id, series)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "evaluation.json"
        report.write_text(json.dumps(asdict(evaluation), ensure_ascii=False, indent=1), encoding="utf-8")
        client.log_artifact(run_id, str(report))
    client.log_artifact(run_id, str(plot))


def _log_dataset(client: Any, run_id: str, series: HourlySeries) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = Dataset(
        name=Path(series.source).name,
        digest=series.digest,
        source_type="local",
        source=json.dumps({"uri": series.source}),
        profile=json.dumps({"hours": len(series.frame), "missing": series.missing, "inserted": series.inserted}),
    )
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
