"""Forecasting in one run: latency on 127.0.0.1 and accuracy on the two shared real series.

Latency: (a) floor, a plain uvicorn + the same ONNX session; (b) the gateway's fast path, ``POST /v1/forecast``
with the ridge forecaster's graph in the ingress replica (direct ingress); (b2) the same model over OIP v2 on the
same replica; (c) the fast path serving a LightGBM+ridge blend (the family ``--algorithm auto`` registered on both
real series in the run of 2026-12-05; 24 × 150 trees) trained on the same sample series, from the same gateway.

Accuracy (issue 23): ``train_forecaster`` with its defaults (``--algorithm auto``) on Beijing PM2.5 and DC bike
share, each with its region for the public holidays (the series' setting, like its time columns), 24 h ahead,
rolling origin (origins every 25 h through the last 20%, refits every 90 days for every method), next to the
seasonal-naive baselines and the afternoon baseline (untuned LightGBM direct: 24 ``LGBMRegressor()`` on lags +
calendar) on the same origins and points; MASE and 80% interval coverage.

Prints JSON with each figure, its baseline and the goals; exits 1 when a goal is missed.
Run: ``.venv/bin/python benchmarks/bench_forecast.py`` (about 20 minutes here; the two series run in parallel)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._http_load import measure
from benchmarks.bench_event_classify import stdout_to_stderr, wait_ready
from tests.conftest import free_port
from training.forecast.defaults import DEFAULT_NAME

HERE = Path(__file__).resolve().parent
REQUESTS, WARMUP, CLIENTS = 600, 100, 8
BLEND_NAME = "pm25-blend-forecaster"
REFIT_HOURS = 24 * 90
#: file, target, time columns, region (the series' setting its public holidays come from)
SERIES = {
    "beijing-pm25": ("beijing_pm25_hourly_2010_2014.csv", "pm2.5", ["year", "month", "day", "hour"], "CN"),
    "dc-bikeshare": ("dc_bikeshare_hourly_2011_2012.csv", "cnt", ["dteday", "hr"], "US-DC"),
}


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from training.forecast.defaults import sample_request

    body = sample_request()
    with stdout_to_stderr():  # Ray and the servers log to fd 1; stdout stays the JSON alone
        results = measure_all(Path(tempfile.mkdtemp(prefix="citymind-bench-forecast-")), body)
        accuracy = measure_accuracy()
    summary = summarise(results) | summarise_accuracy(accuracy)
    setup = {"requests": REQUESTS, "warmup": WARMUP, "concurrent_clients": CLIENTS, "history_hours": 168}
    report = {
        "benchmark": "forecast",
        "model": "pm25-forecaster (SAMPLE default, training/forecast/defaults.py) and a blend on the same sample",
        "setup": setup | {"accuracy_refit_every_hours": REFIT_HOURS, "accuracy_stride": 25, "interval": 0.8},
    }
    print(json.dumps(report | {"results": results, "accuracy": accuracy, "summary": summary}, indent=2))
    missed = [goal for goal, met in summary.items() if goal.startswith("goal_") and not met]
    if missed:
        print(f"goals missed: {missed}", file=sys.stderr)
    return 1 if missed else 0


def measure_all(home: Path, body: dict[str, Any]) -> dict[str, dict]:
    from registry import MlflowRegistry
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway
    from training.forecast.defaults import register_default_forecaster

    reg = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "art").as_uri(), cache_dir=home / "c"
    )
    champion = register_default_forecaster(reg)
    register_blend(reg)
    results: dict[str, dict] = {}
    port = free_port()
    floor = subprocess.Popen([sys.executable, str(HERE / "_forecast_floor.py"), str(reg.load(champion.uri)), str(port)])
    try:
        wait_ready(f"http://127.0.0.1:{port}/docs", floor)
        results["a_floor_uvicorn"] = run(f"http://127.0.0.1:{port}/v1/forecast", body)
        config = GatewayConfig(
            tracking_uri=reg.tracking_uri,
            artifact_location=reg.artifact_location,
            cache_dir=str(home / "gw-cache"),
            preload=(DEFAULT_NAME, BLEND_NAME),
        )
        url = start_gateway(config, port=free_port()).url
        results["b_gateway_fast_path"] = run(f"{url}/v1/forecast", body)
        results["b2_gateway_oip_v2"] = run(f"{url}/v2/models/{DEFAULT_NAME}/infer", oip_body(body))
        results["c_gateway_fast_path_blend"] = run(f"{url}/v1/forecast", body | {"model": BLEND_NAME})
    finally:
        floor.terminate()
        stop_gateway()
    return results


def register_blend(reg: Any) -> None:
    """The LightGBM+ridge blend with its default parameters on the same sample series as the default forecaster."""
    from training.forecast.defaults import generate_sample_series
    from training.forecast.forecaster import EvaluationPlan, train_forecaster
    from training.forecast.series_data import load_hourly_series

    with tempfile.TemporaryDirectory() as tmp:
        series = load_hourly_series(generate_sample_series(Path(tmp) / "sample.csv"), "pm25", ["time"])
        plan = EvaluationPlan(statsmodels=None)
        train_forecaster(series, registry=reg, name=BLEND_NAME, algorithm="lightgbm-ridge-blend", plan=plan)


def measure_accuracy() -> dict[str, Any]:
    """Both series at once (each a single-threaded process: the machine has two cores)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        return dict(zip(SERIES, pool.map(series_accuracy, SERIES), strict=True))


def series_accuracy(name: str) -> dict[str, Any]:
    import time

    from citymind.settings import Settings
    from registry import MlflowRegistry
    from training.forecast.forecaster import EvaluationPlan, train_forecaster
    from training.forecast.lightgbm_baseline import UNTUNED_LIGHTGBM
    from training.forecast.series_data import load_hourly_series

    file, target, time_columns, region = SERIES[name]
    home = Path(tempfile.mkdtemp(prefix=f"citymind-bench-{name}-"))
    reg = MlflowRegistry(f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "art").as_uri())
    series = load_hourly_series(Settings().shared_data / "timeseries" / file, target, time_columns, region=region)
    plan = EvaluationPlan(statsmodels=None, refit_every_hours=REFIT_HOURS, baselines=(UNTUNED_LIGHTGBM,))
    started = time.perf_counter()
    result = train_forecaster(series, registry=reg, name=name, plan=plan)  # the defaults: --algorithm auto
    methods = result.evaluation.methods
    return {
        "chosen": result.algorithm,
        "region": region,
        "mase_default_auto": round(methods["forecaster"]["mase"], 4),
        "mase_untuned_lightgbm": round(methods[UNTUNED_LIGHTGBM]["mase"], 4),
        "mase_seasonal_naive_24h": round(methods["seasonal_naive_24h"]["mase"], 4),
        "mase_seasonal_naive_168h": round(methods["seasonal_naive_168h"]["mase"], 4),
        "coverage": round(result.evaluation.coverage, 4),
        "interval": result.evaluation.interval,
        "origins": result.evaluation.origins,
        "points": result.evaluation.points,
        "onnx_parity_max_rel_diff": result.parity.max_rel_diff,
        "families": result.families,
        "seconds": round(time.perf_counter() - started, 1),
    }


def summarise_accuracy(accuracy: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, figures in accuracy.items():
        out[f"{name}_mase_ratio_to_untuned_lightgbm"] = round(
            figures["mase_default_auto"] / figures["mase_untuned_lightgbm"], 4
        )
        out[f"goal_{name}_mase_below_untuned_lightgbm"] = (
            figures["mase_default_auto"] < figures["mase_untuned_lightgbm"]
        )
        out[f"goal_{name}_coverage_within_0.05"] = abs(figures["coverage"] - figures["interval"]) <= 0.05
    return out


def oip_body(body: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    history = [float("nan") if v is None else v for v in body["history"]]
    filled = np.nan_to_num(np.array(history), nan=float(np.nanmean(history))).tolist()  # OIP JSON has no NaN
    origin = int(np.datetime64(body["end"], "s").astype(np.int64))
    return {
        "inputs": [
            {"name": "history", "shape": [1, 168], "datatype": "FP64", "data": filled},
            {"name": "origin", "shape": [1, 1], "datatype": "INT64", "data": [origin]},
        ]
    }


def run(url: str, body: Any) -> dict[str, Any]:
    return measure(url, body, requests=REQUESTS, warmup=WARMUP, clients=CLIENTS)


def summarise(results: dict[str, dict]) -> dict[str, Any]:
    floor_figures = results["a_floor_uvicorn"]
    for figures in results.values():
        for mode, values in figures.items():
            values["p50_ratio_to_floor"] = round(values["p50_ms"] / floor_figures[mode]["p50_ms"], 2)
            values["rps_ratio_to_floor"] = round(values["rps"] / floor_figures[mode]["rps"], 3)
    fast = results["b_gateway_fast_path"]["sequential"]
    blend = results["c_gateway_fast_path_blend"]["sequential"]
    errors = sum(f[f"concurrent_{CLIENTS}"]["errors"] for f in results.values())
    blend_ratio = round(blend["p50_ms"] / fast["p50_ms"], 3)
    return {
        "fast_path_p50_vs_floor": fast["p50_ratio_to_floor"],
        "blend_fast_path_p50_vs_ridge_fast_path": blend_ratio,
        "goal_blend_fast_path_p50_le_1.5x_ridge": blend_ratio <= 1.5,
        "goal_fast_path_p50_le_3x_floor": fast["p50_ratio_to_floor"] <= 3.0,
        "goal_no_failed_requests": errors == 0,
    }


if __name__ == "__main__":
    sys.exit(main())
