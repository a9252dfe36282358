"""Does the console cost the inference routes anything, and does a page of versions stay quick at 10,000?

1. Two gateway apps over the same bootstrapped registry, one with the console's routes, one without, each in a
   uvicorn process of its own on 127.0.0.1: sequential ``POST /v1/events/classify`` on keep-alive connections,
   30 alternating rounds; then the same with five open consoles polling the overview (one request a second).
2. ``GET /v1/registry/rule/{name}/versions?limit=20`` on an asset with 10,000 versions (``--many-versions DB``: an
   MLflow sqlite file that has them, else they are made here, ~5 minutes), first and last page.

    .venv/bin/python benchmarks/bench_console.py > docs/benchmarks/console.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.conftest import free_port  # noqa: E402

TEXT = "南村镇小区门口垃圾堆放很久没人清理"


def serve(tracking: str, artifacts: str, console: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "_console_server.py"), tracking, artifacts, str(port),
         "1" if console else "0"],
        cwd=REPO,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/v2/health/live", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the gateway at {url} did not start")
        time.sleep(0.5)


def timed(http: httpx.Client, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        answer = http.post("/v1/events/classify", json={"text": TEXT})
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
    return out


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50_ms": round(statistics.median(ordered), 3), "p99_ms": round(ordered[int(0.99 * len(ordered))], 3),
            "requests": len(ordered)}  # fmt: skip


def side_by_side(urls: dict[str, str], rounds: int, per_round: int, poll: str | None) -> dict[str, Any]:
    stop = threading.Event()
    if poll:
        threading.Thread(target=_poll, args=(poll, stop), daemon=True).start()
    clients = {name: httpx.Client(base_url=url, timeout=30) for name, url in urls.items()}
    try:
        for http in clients.values():
            timed(http, 200)  # warm-up
        ms: dict[str, list[float]] = {name: [] for name in urls}
        for r in range(rounds):
            for name in sorted(urls, reverse=bool(r % 2)):
                ms[name] += timed(clients[name], per_round)
    finally:
        stop.set()
        for http in clients.values():
            http.close()
    figures = {name: summary(values) for name, values in ms.items()}
    figures["ratio_p50"] = round(figures["console"]["p50_ms"] / figures["no_console"]["p50_ms"], 3)
    return figures


def _poll(url: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.wait(1.0):
            http.get("/v1/overview")


def many_versions(db: Path | None, n: int) -> tuple[str, str]:
    if db is not None:
        return f"sqlite:///{db}", (db.parent / "artifacts").as_uri()
    from registry import MlflowRegistry

    home = Path(tempfile.mkdtemp(prefix="citymind-versions-"))
    reg = MlflowRegistry(f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(),
                         cache_dir=home / "cache")  # fmt: skip
    reg.register("rule", "many-rules", REPO / "rules" / "defaults" / "pingdu.yaml")
    first = reg.client.get_model_version("many-rules", "1")
    for _ in range(n - 1):
        reg.client.create_model_version("many-rules", first.source, run_id=first.run_id, tags=first.tags)
    return reg.tracking_uri, str(reg.artifact_location)


def version_pages(url: str, total: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=120) as http:
        for name, before in (("first_page", None), ("middle_page", total // 2), ("last_page", 21)):
            ms = []
            for _ in range(5):
                start = time.perf_counter()
                params = {"limit": 20} | ({"before": before} if before else {})
                page = http.get("/v1/registry/rule/many-rules/versions", params=params)
                ms.append((time.perf_counter() - start) * 1000)
                assert page.status_code == 200 and len(page.json()["versions"]) == 20, page.text[:300]
            out[name] = {"p50_ms": round(statistics.median(ms), 1), "latest": page.json()["latest"]}
        start = time.perf_counter()
        every = http.get("/v1/registry/rule/many-rules")  # the older read: every version in one answer
        out["every_version_at_once_ms"] = round((time.perf_counter() - start) * 1000, 1)
        assert every.status_code == 200 and len(every.json()["versions"]) == total
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--many-versions", type=Path, default=None, help="an MLflow sqlite file with 10,000 versions")
    parser.add_argument("--versions", type=int, default=10_000)
    args = parser.parse_args()

    from citymind.cli.bootstrap import bootstrap
    from registry import MlflowRegistry

    home = Path(tempfile.mkdtemp(prefix="citymind-console-bench-"))
    reg = MlflowRegistry(f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(),
                         cache_dir=home / "cache")  # fmt: skip
    list(bootstrap(reg))
    procs = []
    try:
        urls = {}
        for name, console in (("console", True), ("no_console", False)):
            proc, urls[name] = serve(reg.tracking_uri, str(reg.artifact_location), console)
            procs.append(proc)
        idle = side_by_side(urls, args.rounds, args.per_round, poll=None)
        watched = side_by_side(urls, args.rounds, args.per_round, poll=urls["console"])
        tracking, artifacts = many_versions(args.many_versions, args.versions)
        proc, many_url = serve(tracking, artifacts, True)
        procs.append(proc)
        pages = version_pages(many_url, args.versions)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps({
        "benchmark": "console",
        "machine": "2 cores, uvicorn (no Ray), sequential keep-alive requests, 30 alternating rounds",
        "classify_idle_console": idle,
        "classify_with_5_consoles_polling": watched,
        "versions_page_of_20_of_10000": pages,
    }, indent=2, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
