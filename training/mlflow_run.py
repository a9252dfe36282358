"""The MLflow run of a training: opened and closed (FINISHED, or FAILED on any exception), and what every
training logs into it: parameters and metrics in one batch, the dataset with its digest, JSON reports."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import MlflowRegistry

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run


@contextmanager
def training_run(registry: MlflowRegistry, name: str, experiment: str) -> Iterator[Run]:
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


def log_values(client: MlflowClient, run_id: str, params: Mapping[str, str], metrics: Mapping[str, float]) -> None:
    """Parameters (cut to MLflow's 6000 characters) and metrics in one call."""
    from mlflow.entities import Metric, Param

    client.log_batch(
        run_id,
        params=[Param(k, v[:6000]) for k, v in params.items()],
        metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
    )


def log_dataset(client: MlflowClient, run_id: str, source: str, digest: str, profile: Mapping[str, Any]) -> None:
    """The training data as an MLflow dataset input: its file, digest and a small profile."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = Dataset(
        name=Path(source).name,
        digest=digest,
        source_type="local",
        source=json.dumps({"uri": source}),
        profile=json.dumps(dict(profile)),
    )
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])


def log_json(client: MlflowClient, run_id: str, filename: str, data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / filename
        report.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        client.log_artifact(run_id, str(report))
