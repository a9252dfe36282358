"""The MLflow run of a training: opened and closed (FINISHED, or FAILED on any exception), and what every
training logs into it: parameters and metrics (stamped with the time, histories as steps), the dataset with its
digest, JSON reports. The model itself is registered from the run (``register(..., run_id=)``)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import MlflowRegistry

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

BATCH = 1000  # metrics per log_batch call, MLflow's limit


@contextmanager
def training_run(registry: MlflowRegistry, name: str, experiment: str, started: int | None = None) -> Iterator[Run]:
    """A run in ``experiment`` marked FINISHED on success and FAILED on any exception. ``started`` (``now_ms()``
    when the training began) makes the run's duration the training's, not only its logging's."""
    client = registry.client
    run = client.create_run(
        registry.experiment_id(experiment),
        start_time=started,
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
    """Parameters (cut to MLflow's 6000 characters) and metrics, stamped now, in one call."""
    from mlflow.entities import Metric, Param

    now = now_ms()
    client.log_batch(
        run_id,
        params=[Param(k, v[:6000]) for k, v in params.items()],
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
    )


def log_steps(client: MlflowClient, run_id: str, histories: Mapping[str, Sequence[float]], first: int = 0) -> None:
    """Each history as one metric's steps, value i at step ``first + i`` (per fold, per hour ahead): MLflow's
    charts draw them over the step."""
    from mlflow.entities import Metric

    now = now_ms()
    metrics = [Metric(k, float(v), now, first + i) for k, values in histories.items() for i, v in enumerate(values)]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH])


def now_ms() -> int:
    """A metric's timestamp: milliseconds since the epoch."""
    return int(time.time() * 1000)


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
