"""The forecaster pipeline on the generated SAMPLE series against a real embedded MLflow: every step reports
progress, the run holds the metrics, evaluation.json and forecast.png, the version has lineage to its algorithm
cards (forecaster, seasonal naive, residual anomaly) and data, and champion/challenger compares MASE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from registry import MlflowRegistry
from training.algorithms import FORECASTERS
from training.forecast.defaults import generate_sample_series, register_default_forecaster
from training.forecast.forecaster import EvaluationPlan, train_forecaster
from training.forecast.series_data import load_hourly_series
from training.forecast.statsmodels_baseline import SarimaxSettings


@pytest.fixture
def registry(tmp_path: Path) -> MlflowRegistry:
    return MlflowRegistry(
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
        cache_dir=tmp_path / "c",
    )


def test_pipeline_logs_registers_and_compares(registry: MlflowRegistry, tmp_path: Path) -> None:
    series = load_hourly_series(generate_sample_series(tmp_path / "pm25.csv", weeks=8), "pm25", ["time"])
    steps: dict[str, list[tuple[int, int]]] = defaultdict(list)
    plan = EvaluationPlan(stride=49, statsmodels=SarimaxSettings(window=336, max_fits=2))
    first = train_forecaster(
        series,
        registry=registry,
        plan=plan,
        params={"n_estimators": 10, "row_stride": 4},
        progress=lambda s, d, t: steps[s].append((d, t)),
    )
    families = f"{', '.join(FORECASTERS)}: refit and forecast"  # auto: every family at each refit, in turn
    assert list(steps)[:2] == [families, "statsmodels SARIMAX"]
    assert {"fit on the whole series", "export ONNX", "ONNX parity", "register", "promote to champion"} <= set(steps)
    assert first.promoted and first.comparison["how"] == "no champion yet"
    assert set(first.evaluation.methods) == {"forecaster", "seasonal_naive_24h", "seasonal_naive_168h", "sarimax"}

    run = registry.client.get_run(first.run_id)
    assert run.data.metrics["mase"] == pytest.approx(first.evaluation.methods["forecaster"]["mase"])
    assert {
        "sarimax_mase",
        "mase_ratio_vs_best_seasonal_naive",
        "interval_coverage",
        "onnx_parity_max_rel_diff",
    } <= set(run.data.metrics)
    artifacts = {a.path for a in registry.client.list_artifacts(first.run_id)}
    assert artifacts >= {"evaluation.json", "forecast.png", "algorithm_comparison.json", "algorithm_comparison.png"}
    rows = [row for row in first.families if row["kind"] == "family"]
    assert [row["method"] for row in rows] == list(FORECASTERS) and sum(row["chosen"] for row in rows) == 1
    best = min(rows, key=lambda row: row["mase"])
    assert best["chosen"] and first.algorithm == best["method"] == run.data.params["algorithm"]
    assert first.version.tags["citymind.algorithm"] == first.algorithm
    assert {f"compare/{name}/mase" for name in FORECASTERS} <= set(run.data.metrics)
    lineage = {(r.kind, r.name) for r in registry.lineage("forecaster", first.version.version)}
    assert {
        ("algorithm", first.algorithm),
        ("algorithm", "seasonal-naive"),
        ("algorithm", "residual-anomaly"),
    } <= lineage
    assert registry.get("seasonal-naive").kind == "algorithm" and registry.get("residual-anomaly").kind == "algorithm"
    assert json.loads(first.version.tags["citymind.anomaly"])["threshold"] == 4.0

    weaker = train_forecaster(
        series, registry=registry, plan=plan, algorithm="ridge-direct-forecast", params={"alpha": 1e6}
    )
    assert not weaker.promoted and weaker.comparison["how"] == "same data and evaluation (stored)"
    assert registry.resolve("forecaster@champion").version == first.version.version
    assert registry.resolve("forecaster@challenger").version == weaker.version.version


def test_default_forecaster_registers_in_seconds(registry: MlflowRegistry) -> None:
    import time

    registry.experiment_id()  # the database exists already when the bootstrap gets here
    start = time.perf_counter()
    version = register_default_forecaster(registry)
    assert time.perf_counter() - start < 10
    assert version.aliases == ("challenger", "champion") and version.tags["sample"] == "true"
    assert float(version.tags["mase_ratio_vs_best_seasonal_naive"]) < 1.0


def test_cli_trains_from_a_csv_with_json_output(tmp_path: Path) -> None:
    csv = generate_sample_series(tmp_path / "pm25.csv", weeks=6)
    env = {**os.environ, "CITYMIND_HOME": str(tmp_path / "home"), "CITYMIND_TRACKING_URI": ""}
    args = ["--data", str(csv), "--target", "pm25", "--time", "time", "--exog", "temperature", "--no-statsmodels"]
    args += ["--params", '{"n_estimators": 20, "row_stride": 4}']  # auto, with small LightGBM families for CI
    proc = subprocess.run(
        [sys.executable, "-m", "citymind.cli", "train", "forecaster", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["version"] == 1 and summary["onnx_parity_max_rel_diff"] < 1e-5  # a tree family sums in float32
    assert "sarimax" not in summary["methods"] and summary["ratios"]["mase_ratio_vs_seasonal_naive_24h"] < 1.0
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "citymind.cli",
            "train",
            "forecaster",
            "--data",
            str(csv),
            "--target",
            "pm10",
            "--time",
            "time",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "no column(s) ['pm10']" in bad.stderr + bad.stdout
