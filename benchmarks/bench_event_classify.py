"""Event classification latency and throughput, four ways, in one run on 127.0.0.1:

(a) floor: plain uvicorn + the same ONNX session; (b) the gateway's fast path (ORT in the ingress replica);
(c) the same model behind a Ray deployment handle (the batching runner); (d) ``mlflow models serve``.

Prints JSON with each figure and its ratio to (a).  Run: ``.venv/bin/python benchmarks/bench_event_classify.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._http_load import measure
from tests.conftest import free_port

TEXT = "平度市南村镇小区门口垃圾堆放很久没人清理，希望相关部门尽快处理"
HERE = Path(__file__).resolve().parent


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    from citymind.bootstrap import bootstrap
    from registry import MlflowRegistry
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway

    home = Path(tempfile.mkdtemp(prefix="citymind-bench-"))
    reg = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "art").as_uri(), cache_dir=home / "cache"
    )
    list(bootstrap(reg))
    champion = reg.resolve("event-classifier@champion")
    onnx_path = reg.load(champion.uri)
    handle = reg.register(
        "model",
        "event-classifier-handle",
        onnx_path,
        tags={**champion.tags, "citymind.model.latency_critical": "false"},
    )
    reg.set_alias(handle.name, "champion", handle.version)

    results: dict[str, dict] = {}
    procs: list[subprocess.Popen] = []
    try:
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, str(HERE / "_floor_server.py"), str(onnx_path), str(port)]))
        wait_ready(f"http://127.0.0.1:{port}/docs", procs[-1])
        results["a_floor_uvicorn"] = measure(f"http://127.0.0.1:{port}/v1/events/classify", {"text": TEXT})

        mport = free_port()
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": reg.tracking_uri,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mlflow",
                    "models",
                    "serve",
                    "-m",
                    champion.uri,
                    "--env-manager",
                    "local",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(mport),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_ready(f"http://127.0.0.1:{mport}/ping", procs[-1])
        results["d_mlflow_models_serve"] = measure(
            f"http://127.0.0.1:{mport}/invocations", {"inputs": {"text": [[TEXT]]}}, requests=300
        )

        config = GatewayConfig(
            tracking_uri=reg.tracking_uri,
            artifact_location=reg.artifact_location,
            cache_dir=str(home / "gw-cache"),
            preload=("event-classifier", handle.name),
        )
        urls = start_gateway(config, port=free_port())
        results["b_gateway_fast_path"] = measure(f"{urls.url}/v1/events/classify", {"text": TEXT})
        results["c_ray_handle_path"] = measure(
            f"{urls.url}/v1/events/classify", {"text": TEXT, "model": handle.name}, requests=400
        )
        results["b2_gateway_via_serve_proxy"] = measure(
            f"{urls.proxy_url}/v1/events/classify", {"text": TEXT}, requests=400
        )
    finally:
        for proc in procs:
            proc.terminate()
        stop_gateway()
    floor = results["a_floor_uvicorn"]
    for figures in results.values():
        for mode, values in figures.items():
            base = floor[mode]
            values["p50_ratio_to_floor"] = round(values["p50_ms"] / base["p50_ms"], 2)
            values["rps_ratio_to_floor"] = round(values["rps"] / base["rps"], 3)
    fast, slow = results["b_gateway_fast_path"]["sequential"], results["c_ray_handle_path"]["sequential"]
    summary = {
        "fast_path_p50_vs_floor": fast["p50_ratio_to_floor"],
        "handle_path_p50_over_fast_path": round(slow["p50_ms"] / fast["p50_ms"], 2),
        "goal_fast_path_p50_le_3x_floor": fast["p50_ratio_to_floor"] <= 3.0,
        "goal_fast_path_3x_faster_than_handle": slow["p50_ms"] >= 3 * fast["p50_ms"],
    }
    print(
        json.dumps(
            {"benchmark": "event_classify", "text": TEXT, "results": results, "summary": summary},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
