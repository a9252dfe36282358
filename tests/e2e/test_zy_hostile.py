"""The hostile payloads (tests/hostile_payloads.py) against the real Ray Serve gateway: no answer of 500 or more,
no request costs the replicas more than 2 s of CPU, and the ingress replica's resident memory grows by less than
200 MB across the suite. Figures at the end of ``make test`` ("reliability figures")."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

from tests.hostile_payloads import Payload, payloads
from tests.integration.test_hostile_app import send


def send_raw(url: str, payload: Payload) -> int:
    """A request whose headers an HTTP client would refuse to send (a Content-Length that lies), over a socket;
    the server may answer, or close the connection (0): both refuse it."""
    address = urlsplit(url)
    head = [f"{payload.method} {payload.path} HTTP/1.1", f"host: {address.netloc}", "connection: close"]
    head += [f"{k}: {v}" for k, v in payload.headers.items()]
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (payload.content or b""))
        reply = sock.recv(4096).decode("latin-1")
    return int(reply.split(" ", 2)[1]) if reply.startswith("HTTP/") else 0  # 0: closed without an answer


def replicas() -> list[psutil.Process]:
    """This session's Serve replica processes (ingress, model runner, video): Ray names them after the deployment."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "ServeReplica" in " ".join(proc.cmdline()):
                found.append(proc)
    return found


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def ingress_rss(procs: list[psutil.Process]) -> int:
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if ":gateway" in " ".join(proc.cmdline()):
                total += proc.memory_info().rss
    return total


def test_hostile_payloads_against_the_gateway(gateway: str, figure: Any) -> None:
    procs = replicas()
    assert procs, "no Serve replica process found"
    with httpx.Client(base_url=gateway, timeout=60) as http:
        send(http, payloads()[0], {})  # warm: the event engine and the components load on first use
        rss_before = ingress_rss(procs)
        failures, costly, worst = [], [], ("", 0.0)
        statuses: dict[int, int] = {}
        for payload in payloads():
            before = cpu_seconds(procs)
            try:
                raw = "content-length" in payload.headers
                status = send_raw(gateway, payload) if raw else send(http, payload, {}).status_code
            except (httpx.HTTPError, OSError) as exc:  # a dropped connection counts as a failure, like a 5xx
                failures.append(f"{payload.name}: {type(exc).__name__}")
                continue
            spent = cpu_seconds(procs) - before
            statuses[status] = statuses.get(status, 0) + 1
            worst = max(worst, (payload.name, spent), key=lambda w: w[1])
            if status >= 500:
                failures.append(f"{payload.name}: {status}")
            if spent > 2.0:
                costly.append(f"{payload.name}: {spent:.2f} s of CPU")
        live = http.get("/v2/health/live").status_code
    growth = (ingress_rss(procs) - rss_before) / 2**20
    summary = {"payloads": len(payloads()), "statuses": dict(sorted(statuses.items())), "5xx": len(failures),
               "worst_cpu_s": [worst[0], round(worst[1], 3)], "ingress_rss_growth_mb": round(growth, 1)}  # fmt: skip
    figure("hostile: " + json.dumps(summary, ensure_ascii=False))
    assert failures == [] and costly == [] and live == 200, failures + costly
    assert len(payloads()) >= 80 and growth < 200, summary
