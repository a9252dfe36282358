"""Forecast latency in one run on 127.0.0.1: (a) floor, a plain uvicorn + the same ONNX session; (b) the
gateway's fast path, ``POST /v1/forecast`` with the forecaster's graph in the ingress replica (direct ingress);
(b2) the same model over OIP v2 (``/v2/models/pm25-forecaster/infer``) on the same replica.

Prints JSON with each figure and its ratio to (a); exits 1 when the goal of issue 7 (fast path p50 ≤ 3× the
floor) is missed. Run: ``.venv/bin/python benchmarks/bench_forecast.py``
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


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from training.forecast.defaults import sample_request

    body = sample_request()
    with stdout_to_stderr():  # Ray and the servers log to fd 1; stdout stays the JSON alone
        results = measure_all(Path(tempfile.mkdtemp(prefix="citymind-bench-forecast-")), body)
    summary = summarise(results)
    setup = {"requests": REQUESTS, "warmup": WARMUP, "concurrent_clients": CLIENTS, "history_hours": 168}
    report = {
        "benchmark": "forecast",
        "model": "pm25-forecaster (SAMPLE default, training/forecast/defaults.py)",
        "setup": setup,
    }
    print(json.dumps(report | {"results": results, "summary": summary}, indent=2))
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
            preload=(DEFAULT_NAME,),
        )
        url = start_gateway(config, port=free_port()).url
        results["b_gateway_fast_path"] = run(f"{url}/v1/forecast", body)
        results["b2_gateway_oip_v2"] = run(f"{url}/v2/models/{DEFAULT_NAME}/infer", oip_body(body))
    finally:
        floor.terminate()
        stop_gateway()
    return results


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
    errors = sum(f[f"concurrent_{CLIENTS}"]["errors"] for f in results.values())
    return {
        "fast_path_p50_vs_floor": fast["p50_ratio_to_floor"],
        "goal_fast_path_p50_le_3x_floor": fast["p50_ratio_to_floor"] <= 3.0,
        "goal_no_failed_requests": errors == 0,
    }


if __name__ == "__main__":
    sys.exit(main())
