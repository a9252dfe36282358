"""Sustained triage load on the real gateway (Ray Serve, one ingress replica, every event recorded in the embedded
SQLite store, the event state persisted): real citizen messages (../shared/data/complaints, title + body) from 16
concurrent users at saturation for ``--minutes`` (default 30). Every 10 s it samples the requests answered and the
ingress replica's RSS. The baseline is the run's own start: the last 5 minutes' requests/s over the first 5
minutes' (goal ≥ 0.9), and the replica's memory after warm-up (minute 5) against the end (goal: flat).

Run: ``.venv/bin/python benchmarks/bench_soak.py [--minutes 30] [--users 16]`` (prints JSON; docs/benchmarks/soak.json)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_components import registry
from benchmarks.bench_event_classify import stdout_to_stderr
from tests.conftest import free_port, shared_data_dir

SAMPLE_S, WINDOW_MIN, CALLERS = 10.0, 5, 5000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    home = Path(tempfile.mkdtemp(prefix="citymind-bench-soak-"))
    os.environ["CITYMIND_HOME"] = str(home)
    texts = messages()
    with stdout_to_stderr():
        samples, totals = soak(home, texts, args.minutes, args.users)
    print(json.dumps(report(samples, totals, home, args, len(texts)), indent=2, ensure_ascii=False))


def messages() -> list[str]:
    path = shared_data_dir() / "complaints" / "tipdm2020_messages_labeled.csv"
    with path.open(encoding="utf-8-sig") as f:
        return [f"{r['留言主题']} {' '.join(r['留言详情'].split())}"[:2000] for r in csv.DictReader(f)]


def soak(home: Path, texts: list[str], minutes: float, users: int) -> tuple[list[dict[str, float]], dict[str, int]]:
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway

    reg = registry(home)
    config = GatewayConfig(
        tracking_uri=reg.tracking_uri, artifact_location=reg.artifact_location, cache_dir=str(home / "gw"),
        video=None, events_url=f"sqlite:///{home / 'events.db'}", reporter_key_file=str(home / "reporter.key"),
        state_file=str(home / "event_state.json"),
    )  # fmt: skip
    totals = {"answered": 0, "failed": 0}
    stop = threading.Event()
    try:
        urls = start_gateway(config, port=free_port())
        target = f"{urls.url}/v1/events/triage"
        workers = [threading.Thread(target=user, args=(target, texts, i, stop, totals)) for i in range(users)]
        for w in workers:
            w.start()
        samples = sample(minutes, totals, ingress_pid())
        stop.set()
        for w in workers:
            w.join()
        return samples, totals
    finally:
        stop.set()
        stop_gateway()


def user(url: str, texts: list[str], seed: int, stop: threading.Event, totals: dict[str, int]) -> None:
    pick = random.Random(seed)
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            body = {"report": {"text": pick.choice(texts), "reporter": {"id": f"caller-{pick.randrange(CALLERS)}"}}}
            try:
                ok = http.post(url, json=body).status_code == 200
            except httpx.HTTPError:
                ok = False
            totals["answered" if ok else "failed"] += 1


def ingress_pid() -> int:
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "ServeReplica:citymind:gateway" in " ".join(proc.cmdline()):
                return int(proc.pid)
    raise RuntimeError("no ingress replica process found")


def sample(minutes: float, totals: dict[str, int], pid: int) -> list[dict[str, float]]:
    replica, start, out = psutil.Process(pid), time.monotonic(), []
    while time.monotonic() - start < minutes * 60:
        time.sleep(SAMPLE_S)
        out.append({"t_s": round(time.monotonic() - start, 1), "answered": totals["answered"],
                    "rss_mb": round(replica.memory_info().rss / 2**20, 1)})  # fmt: skip
    return out


def report(samples: list[dict[str, float]], totals: dict[str, int], home: Path, args: Any, n: int) -> dict[str, Any]:
    def rps(first: float, last: float) -> float:
        inside = [s for s in samples if first <= s["t_s"] <= last]
        return round((inside[-1]["answered"] - inside[0]["answered"]) / (inside[-1]["t_s"] - inside[0]["t_s"]), 1)

    end = samples[-1]["t_s"]
    window = min(WINDOW_MIN * 60, end / 3)
    warm = next(s for s in samples if s["t_s"] >= window)
    first, last = rps(0, window), rps(end - window, end)
    files = {p.name: round(p.stat().st_size / 2**20, 2) for p in home.glob("event*") if p.is_file()}
    return {
        "benchmark": "soak",
        "setup": {
            "minutes": args.minutes,
            "users": args.users,
            "messages": n,
            "callers": CALLERS,
            "what": "real TipDM messages at saturation on one ingress replica, events recorded (SQLite)",
        },
        "requests": totals,
        "rps_first_window": first,
        "rps_last_window": last,
        "rps_last_over_first": round(last / first, 3),
        "window_s": window,
        "rss_mb_after_warmup": warm["rss_mb"],
        "rss_mb_end": samples[-1]["rss_mb"],
        "rss_growth_after_warmup_mb": round(samples[-1]["rss_mb"] - warm["rss_mb"], 1),
        "files_mb": files,
        "samples": samples,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    main()
