"""What a data scientist finds in MLflow after ``citymind train``: the model version's run is the training run, with
its metrics (stamped with the time, k-fold scores as steps), its plots and the model itself; ``citymind ui`` shows
it all over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from citymind.cli import app
from citymind.settings import get_settings
from registry import MlflowRegistry
from registry.loading import SERVING_FORMATS
from tests.conftest import free_port
from training.forecast.defaults import generate_sample_series
from training.text.sample_corpus import generate_sample_reports


@dataclass(frozen=True)
class Trained:
    home: Path
    classifier: dict[str, Any]  # the --json summaries
    forecaster: dict[str, Any]
    window: tuple[int, int]  # ms since the epoch: before the first and after the last training

    @property
    def client(self) -> Any:
        from mlflow import MlflowClient

        uri = f"sqlite:///{self.home / 'mlflow.db'}"
        return MlflowClient(uri, registry_uri=uri)  # not the process's registry URI, which other tests may set


def train(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["train", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """An event classifier (3 folds) and a forecaster trained by the CLI into one embedded store."""
    home = tmp_path_factory.mktemp("trained")
    reports = generate_sample_reports(home / "reports.csv", per_category=20, seed=1)
    series = generate_sample_series(home / "pm25.csv", weeks=6)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYMIND_HOME", str(home))
        env.delenv("CITYMIND_TRACKING_URI", raising=False)
        env.delenv("CITYMIND_ARTIFACT_LOCATION", raising=False)
        get_settings.cache_clear()
        start = int(time.time() * 1000)
        classifier = train("event-classifier", "--data", str(reports), "--text-col", "text", "--label-col",
                           "category", "--folds", "3")  # fmt: skip
        forecaster = train("forecaster", "--data", str(series), "--target", "pm25", "--time", "time",
                           "--no-statsmodels", "--params", '{"n_estimators": 20, "row_stride": 4}')  # fmt: skip
        yield Trained(home, classifier, forecaster, (start, int(time.time() * 1000)))
    get_settings.cache_clear()


def test_the_version_is_made_from_the_training_run(trained: Trained) -> None:
    client = trained.client
    for summary in (trained.classifier, trained.forecaster):
        version = client.get_model_version(summary["name"], str(summary["version"]))
        run = client.get_run(version.run_id)
        assert version.run_id == summary["run_id"] and run.info.run_name == f"train-{summary['name']}"
        assert version.source == f"{run.info.artifact_uri}/model" and run.info.status == "FINISHED"
        assert "model/MLmodel" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}
        assert trained.window[0] <= run.info.start_time < run.info.end_time <= trained.window[1]
    served = MlflowRegistry(f"sqlite:///{trained.home / 'mlflow.db'}", formats=SERVING_FORMATS,
                            cache_dir=trained.home / "served")  # fmt: skip
    assert served.load("event-classifier@champion").suffix == ".onnx"  # digest checked, no pickle


def test_the_classifier_run_holds_its_metrics_folds_and_confusion_matrix(trained: Trained) -> None:
    client, run_id = trained.client, trained.classifier["run_id"]
    metrics = client.get_run(run_id).data.metrics
    assert metrics["macro_f1"] == pytest.approx(trained.classifier["macro_f1"])
    folds = client.get_metric_history(run_id, "fold/macro_f1")
    assert [m.step for m in folds] == [0, 1, 2] and all(0 < m.value <= 1 for m in folds)
    assert metrics["fold/macro_f1_mean"] == pytest.approx(sum(m.value for m in folds) / 3)
    assert [m.step for m in client.get_metric_history(run_id, "fold/accuracy")] == [0, 1, 2]
    stamps = [m.timestamp for key in metrics for m in client.get_metric_history(run_id, key)]
    assert all(trained.window[0] <= stamp <= trained.window[1] for stamp in stamps)
    assert {"confusion_matrix.png", "evaluation.json", "model"} <= {a.path for a in client.list_artifacts(run_id)}


def test_the_forecaster_run_holds_its_plot_and_error_by_hours_ahead(trained: Trained) -> None:
    client, run_id = trained.client, trained.forecaster["run_id"]
    metrics = client.get_run(run_id).data.metrics
    assert metrics["mase"] == pytest.approx(trained.forecaster["methods"]["forecaster"]["mase"])
    by_horizon = client.get_metric_history(run_id, "mae_by_horizon/forecaster")
    assert [m.step for m in by_horizon] == list(range(1, 25))
    assert all(trained.window[0] <= m.timestamp <= trained.window[1] for m in by_horizon)
    assert "forecast.png" in {a.path for a in client.list_artifacts(run_id)}


def test_assets_nobody_trained_keep_a_register_run(trained: Trained) -> None:
    client = trained.client
    algorithm = trained.classifier["algorithm"]  # the family auto chose
    card = client.get_model_version_by_alias(algorithm, "production")
    assert client.get_run(card.run_id).info.run_name == f"register-algorithm-{algorithm}"


def test_citymind_ui_serves_the_store_over_http(trained: Trained) -> None:
    port, run_id = free_port(), trained.classifier["run_id"]
    env = {**os.environ, "CITYMIND_HOME": str(trained.home), "CITYMIND_TRACKING_URI": "",
           "CITYMIND_ARTIFACT_LOCATION": ""}  # fmt: skip
    ui = subprocess.Popen([sys.executable, "-m", "citymind.cli", "ui", "--port", str(port)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(ui, url)
        assert "<title>MLflow" in httpx.get(url).text
        api = f"{url}/ajax-api/2.0/mlflow"
        models = httpx.get(f"{api}/registered-models/search", params={"max_results": 100}).json()
        assert {"event-classifier", "pm25-forecaster"} <= {m["name"] for m in models["registered_models"]}
        version = httpx.get(f"{api}/model-versions/get", params={"name": "event-classifier", "version": 1}).json()
        assert version["model_version"]["run_id"] == run_id
        png = httpx.get(f"{url}/get-artifact", params={"path": "confusion_matrix.png", "run_uuid": run_id})
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        ui.terminate()
        output = ui.communicate(timeout=30)[0]
    assert output.startswith(f"MLflow UI on {url}"), output[:500]


def wait_healthy(proc: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError(f"citymind ui did not answer on {url} within 120 s")


def test_citymind_ui_points_at_a_registry_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYMIND_TRACKING_URI", "http://mlflow.city.internal:5000")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ui"])
    get_settings.cache_clear()
    assert result.exit_code == 0 and "MLflow server at http://mlflow.city.internal:5000: its UI is there" in (
        result.output
    )
