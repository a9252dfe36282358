"""Event classification latency and throughput, four ways, in one run on 127.0.0.1:

(a) floor: plain uvicorn + the same ONNX session; (b) the gateway's fast path (ORT in the ingress replica);
(c) the same model behind a Ray deployment handle (the batching runner); (d) ``mlflow models serve``.

Path (c) runs with ``batch_wait_timeout_s=0`` so the latency comparison measures the Ray hop, not a batching
wait. Prints JSON with each figure and its ratio to (a) and exits 1 when a goal of issue 3 is missed.

``--part accuracy`` measures instead what issue 23 asks of the default (``benchmarks/_classify_accuracy.py``):
5-fold macro-F1 on THUCNews and TipDM next to the afternoon baseline, the training time on 10k titles and the
fast path's p50 against the previous default's (needs the shared data, ``CITYMIND_SHARED_DATA``).
Run: ``.venv/bin/python benchmarks/bench_event_classify.py [--part latency|accuracy]``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def main(argv: list[str] | None = None) -> int:
    """Run every path (or the accuracy part), print the JSON, return 1 when a goal is missed (0 otherwise)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["latency", "accuracy"], default="latency")
    part = parser.parse_args(argv).part
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if part == "accuracy":
        from benchmarks._classify_accuracy import measure_accuracy
        from citymind.settings import Settings

        with stdout_to_stderr():
            measured = measure_accuracy(Settings().shared_data.resolve())
        report = {"benchmark": "event_classify_accuracy", **measured}
        summary = measured["summary"]
    else:
        with stdout_to_stderr():  # Ray and the servers log to fd 1; stdout stays the JSON alone
            results = measure_all(Path(tempfile.mkdtemp(prefix="citymind-bench-")))
        summary = summarise(results)
        report = {"benchmark": "event_classify", "text": TEXT, "setup": SETUP, "results": results, "summary": summary}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    missed = [goal for goal, met in summary.items() if goal.startswith("goal_") and not met]
    if missed:
        print(f"goals missed: {missed}", file=sys.stderr)
    return 1 if missed else 0


def measure_all(home: Path) -> dict[str, dict]:
    from serving.launcher import stop_gateway

    reg, champion, handle = prepare_registry(home)
    results: dict[str, dict] = {}
    procs: list[subprocess.Popen] = []
    try:
        results["a_floor_uvicorn"] = floor(reg.load(champion.uri), procs)
        results["d_mlflow_models_serve"] = mlflow_models_serve(reg.tracking_uri, champion.uri, procs)
        results |= gateway_paths(reg, home, handle.name)
    finally:
        for proc in procs:
            proc.terminate()
        stop_gateway()
    return results


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


#: How every path is measured (the same for all five, so the ratios compare like with like).
REQUESTS, WARMUP, CLIENTS = 600, 100, 8
HANDLE_BATCH_WAIT_S = 0.0
SETUP = {
    "requests": REQUESTS,
    "warmup": WARMUP,
    "concurrent_clients": CLIENTS,
    "c_ray_handle_batching": {"max_batch_size": 32, "batch_wait_timeout_s": HANDLE_BATCH_WAIT_S},
    "d_input": "clean_text(TEXT): the bare ONNX graph takes preprocessed text (docs/models.md)",
}


def prepare_registry(home: Path) -> tuple[Any, Any, Any]:
    """The bootstrapped champion, and the same ONNX registered again as not latency-critical (path c)."""
    from citymind.cli.bootstrap import bootstrap
    from registry import MlflowRegistry

    reg = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "art").as_uri(), cache_dir=home / "cache"
    )
    list(bootstrap(reg))
    champion = reg.resolve("event-classifier@champion")
    handle = reg.register(
        "model",
        "event-classifier-handle",
        reg.load(champion.uri),
        tags={"citymind.model.latency_critical": "false"},  # the registry's own tags (digest...) are its to set
    )
    reg.set_alias(handle.name, "champion", handle.version)
    return reg, champion, handle


def run(url: str, body: Any) -> dict[str, Any]:
    return measure(url, body, requests=REQUESTS, warmup=WARMUP, clients=CLIENTS)


def floor(onnx_path: Path, procs: list[subprocess.Popen]) -> dict[str, Any]:
    port = free_port()
    procs.append(subprocess.Popen([sys.executable, str(HERE / "_floor_server.py"), str(onnx_path), str(port)]))
    wait_ready(f"http://127.0.0.1:{port}/docs", procs[-1])
    return run(f"http://127.0.0.1:{port}/v1/events/classify", {"text": TEXT})


def mlflow_models_serve(tracking_uri: str, model_uri: str, procs: list[subprocess.Popen]) -> dict[str, Any]:
    from models.text.cleaning import clean_text

    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    procs.append(
        subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    wait_ready(f"http://127.0.0.1:{port}/ping", procs[-1])
    return run(f"http://127.0.0.1:{port}/invocations", {"inputs": {"text": [[clean_text(TEXT)]]}})


def gateway_paths(reg: Any, home: Path, handle_name: str) -> dict[str, dict[str, Any]]:
    """(b) fast path, (c) handle path with no batching wait, (b2) fast path through the Serve proxy."""
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway

    config = GatewayConfig(
        tracking_uri=reg.tracking_uri,
        artifact_location=reg.artifact_location,
        cache_dir=str(home / "gw-cache"),
        preload=("event-classifier", handle_name),
        batch_wait_timeout_s=HANDLE_BATCH_WAIT_S,
    )
    urls = start_gateway(config, port=free_port())
    return {
        "b_gateway_fast_path": run(f"{urls.url}/v1/events/classify", {"text": TEXT}),
        "c_ray_handle_path": run(f"{urls.url}/v1/events/classify", {"text": TEXT, "model": handle_name}),
        "b2_gateway_via_serve_proxy": run(f"{urls.proxy_url}/v1/events/classify", {"text": TEXT}),
    }


def summarise(results: dict[str, dict]) -> dict[str, Any]:
    """Ratios to the floor for every figure, and the two latency goals of issue 3."""
    floor_figures = results["a_floor_uvicorn"]
    for figures in results.values():
        for mode, values in figures.items():
            base = floor_figures[mode]
            values["p50_ratio_to_floor"] = round(values["p50_ms"] / base["p50_ms"], 2)
            values["rps_ratio_to_floor"] = round(values["rps"] / base["rps"], 3)
    fast, slow = results["b_gateway_fast_path"]["sequential"], results["c_ray_handle_path"]["sequential"]
    errors = sum(f[f"concurrent_{CLIENTS}"]["errors"] for f in results.values())
    return {
        "fast_path_p50_vs_floor": fast["p50_ratio_to_floor"],
        "handle_path_p50_over_fast_path": round(slow["p50_ms"] / fast["p50_ms"], 2),
        "goal_fast_path_p50_le_3x_floor": fast["p50_ratio_to_floor"] <= 3.0,
        "goal_fast_path_3x_faster_than_handle": slow["p50_ms"] >= 3 * fast["p50_ms"],
        "goal_no_failed_requests": errors == 0,
    }


if __name__ == "__main__":
    sys.exit(main())
