"""A bounded load test at saturation (locust, 16 users without think time, 40 s on 127.0.0.1) against the real
gateway: zero failed requests, p99 reported, and the ingress replica's resident memory grows by less than 10%."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = pytest.mark.slow
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def replica_rss() -> int:
    """Resident memory of the gateway's ingress replica(s): Ray names their processes after the deployment."""
    total = 0
    for proc in psutil.Process().children(recursive=True):  # this session's Ray only
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(proc.cmdline())
            if "ServeReplica" in cmdline and ":gateway" in cmdline:
                total += proc.memory_info().rss
    return total


def locust(url: str, seconds: int, out: Path) -> list[dict[str, Any]]:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url, "--users", "16",
        "--spawn-rate", "16", "--run-time", f"{seconds}s", "--only-summary", "--json-file", str(out.with_suffix("")),
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    return list(json.loads(out.read_text(encoding="utf-8")))


def test_saturation_without_errors_or_memory_growth(gateway: str, tmp_path: Path, figure: Any) -> None:
    locust(gateway, 8, tmp_path / "warmup.json")  # first calls load the event engine; memory settles after
    before = replica_rss()
    assert before > 0, "no gateway replica process found"
    start = time.monotonic()
    stats = locust(gateway, 40, tmp_path / "load.json")
    elapsed = time.monotonic() - start
    after = replica_rss()
    requests = sum(s["num_requests"] for s in stats)
    failures = sum(s["num_failures"] for s in stats)
    report = {
        s["name"]: {"requests": s["num_requests"], "failures": s["num_failures"], "p99_ms": _p99(s)} for s in stats
    }
    summary = {"seconds": round(elapsed), "requests": requests, "rps": round(requests / 40), "routes": report,
               "rss_mb": [round(before / 2**20), round(after / 2**20)]}  # fmt: skip
    figure("load: " + json.dumps(summary, ensure_ascii=False))
    assert requests > 500 and failures == 0, report
    assert after < before * 1.10, f"replica RSS grew from {before / 2**20:.0f} to {after / 2**20:.0f} MiB"


def _p99(stats: dict[str, Any]) -> float | None:
    """locust keeps response times as a histogram {milliseconds (rounded): count}."""
    times = sorted((float(ms), n) for ms, n in stats["response_times"].items())
    total, seen = sum(n for _, n in times), 0
    for ms, n in times:
        seen += n
        if seen >= 0.99 * total:
            return ms
    return None
