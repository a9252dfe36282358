"""Event triage (``POST /v1/events/triage``: PII masking, classification, area, dispatch, rules, 并单 and repeat
callers) in one run on 127.0.0.1, each report a different one of the project's generated Pingdu reports:
(a) floor, the gateway's own FastAPI app under plain uvicorn, no Ray; (b) the gateway with one ingress replica
(its event state in the replica); (c) two ingress replicas sharing the ``event-state`` actor, requests
alternating between the replicas' own ports: what the shared state's hop costs.

Prints JSON with each figure and its ratio to (a) and (c) to (b). Run: ``.venv/bin/python benchmarks/bench_triage.py``
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
from benchmarks.bench_components import registry
from benchmarks.bench_event_classify import stdout_to_stderr, wait_ready
from tests.conftest import free_port

HERE = Path(__file__).resolve().parent
REQUESTS, WARMUP, CLIENTS, CALLERS = 600, 100, 8, 200


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    home = Path(tempfile.mkdtemp(prefix="citymind-bench-triage-"))
    os.environ["CITYMIND_HOME"] = str(home)  # no API keys there: the gateways answer on loopback without one
    bodies = reports(home)
    with stdout_to_stderr():  # Ray and the servers log to fd 1; stdout stays the JSON alone
        results = measure_all(home, bodies)
    report = {
        "benchmark": "triage",
        "setup": {
            "requests": REQUESTS,
            "warmup": WARMUP,
            "concurrent_clients": CLIENTS,
            "reports": len(bodies),
            "callers": CALLERS,
            "what": "generated Pingdu reports (training/text/sample_corpus.py), one report a request, reporter ids "
            f"cycling over {CALLERS} callers; the event state grows through the run as in service",
        },
        "results": results,
        "summary": summarise(results),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))


def reports(home: Path) -> list[dict[str, Any]]:
    import csv

    from training.text.sample_corpus import generate_sample_reports

    with generate_sample_reports(home / "reports.csv", per_category=100, seed=11).open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    return [{"report": {"text": t, "reporter": {"id": f"caller-{i % CALLERS}"}}} for i, t in enumerate(texts)]


def measure_all(home: Path, bodies: list[dict[str, Any]]) -> dict[str, dict]:
    reg = registry(home)  # bootstrapped with the defaults
    port = free_port()
    args = [reg.tracking_uri, str(reg.artifact_location), str(home / "floor-cache"), str(port)]
    floor = subprocess.Popen([sys.executable, str(HERE / "_triage_floor.py"), *args])
    results: dict[str, dict] = {}
    try:
        wait_ready(f"http://127.0.0.1:{port}/docs", floor)
        results["a_floor_uvicorn"] = run([f"http://127.0.0.1:{port}"], bodies)
    finally:
        floor.terminate()
    results["b_gateway_one_ingress"] = gateway(reg, home, bodies, replicas=1)
    results["c_gateway_two_ingress_shared_state"] = gateway(reg, home, bodies, replicas=2)
    return results


def gateway(reg: Any, home: Path, bodies: list[dict[str, Any]], replicas: int) -> dict[str, Any]:
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway

    config = GatewayConfig(
        tracking_uri=reg.tracking_uri,
        artifact_location=reg.artifact_location,
        cache_dir=str(home / f"gw-{replicas}"),
        ingress_replicas=replicas,
        video=None,
    )
    try:
        urls = start_gateway(config, port=free_port())
        return run(list(urls.replica_urls), bodies)
    finally:
        stop_gateway()


def run(urls: list[str], bodies: list[dict[str, Any]]) -> dict[str, Any]:
    targets = [f"{url}/v1/events/triage" for url in urls]
    return measure(targets, None, requests=REQUESTS, warmup=WARMUP, clients=CLIENTS, bodies=bodies)


def summarise(results: dict[str, dict]) -> dict[str, Any]:
    concurrent = f"concurrent_{CLIENTS}"

    def ratios(name: str, base: str) -> dict[str, float]:
        a, b = results[name], results[base]
        return {
            "p50_ratio": round(a["sequential"]["p50_ms"] / b["sequential"]["p50_ms"], 2),
            "p99_ratio": round(a["sequential"]["p99_ms"] / b["sequential"]["p99_ms"], 2),
            f"rps_{concurrent}_ratio": round(a[concurrent]["rps"] / b[concurrent]["rps"], 3),
        }

    return {
        "one_ingress_vs_floor": ratios("b_gateway_one_ingress", "a_floor_uvicorn"),
        "two_ingress_shared_state_vs_one": ratios("c_gateway_two_ingress_shared_state", "b_gateway_one_ingress"),
        "shared_state_hop_p50_ms": round(
            results["c_gateway_two_ingress_shared_state"]["sequential"]["p50_ms"]
            - results["b_gateway_one_ingress"]["sequential"]["p50_ms"],
            3,
        ),
    }


if __name__ == "__main__":
    main()
