"""The MLflow run a version's files go to: the run that made them (a training run, so the version page links to
its metrics and plots), or, for an asset nobody trained, a ``register-<kind>-<name>`` run of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from citymind.errors import InvalidAsset
from registry._mlflow_support import retrying, retrying_or_none
from registry.kinds import KIND_TAG, Kind

#: where a version's MLflow model folder sits among its run's artifacts
MODEL_PATH = "model"


def log_into_run(client: Any, run_id: str, model_dir: Path, kind: Kind, name: str) -> str:
    """Log ``model_dir`` under ``model/`` of the existing run ``run_id``; return the version's source URI."""
    run = retrying_or_none(lambda: client.get_run(run_id))
    if run is None:
        raise InvalidAsset(
            f"Cannot register {kind} {name!r} from run {run_id!r}: there is no such run on this store. Pass the id "
            "of the run that trained it (on the same tracking URI), or no run_id.",
            kind=kind,
            name=name,
        )
    if retrying(lambda: client.list_artifacts(run_id, MODEL_PATH)):
        raise InvalidAsset(
            f"Cannot register {kind} {name!r} from run {run_id!r}: the run already holds a registered model under "
            f"'{MODEL_PATH}/' (one version per run; a second would overwrite the first's files). Start a new run.",
            kind=kind,
            name=name,
        )
    client.log_artifacts(run_id, str(model_dir), MODEL_PATH)
    return f"{run.info.artifact_uri}/{MODEL_PATH}"


def log_into_new_run(client: Any, experiment_id: str, model_dir: Path, kind: Kind, name: str) -> tuple[str, str]:
    """A finished ``register-<kind>-<name>`` run holding ``model_dir`` under ``model/``: its id and the source URI."""
    run = retrying(
        lambda: client.create_run(
            experiment_id,
            run_name=f"register-{kind}-{name}"[:250],
            tags={KIND_TAG: kind.value, "citymind.asset": name},
        )
    )
    run_id = run.info.run_id
    client.log_artifacts(run_id, str(model_dir), MODEL_PATH)
    retrying(lambda: client.set_terminated(run_id))
    return run_id, f"{run.info.artifact_uri}/{MODEL_PATH}"
