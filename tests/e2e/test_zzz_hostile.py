"""The hostile payloads (tests/hostile_payloads.py) against the real Ray Serve gateway, with API keys on, as no one,
a wrong key and every role: no answer of 500 or more, no request costs the replicas more than 2 s of CPU, and the
ingress replica's resident memory grows by less than 200 MB across the suite. Figures at the end of ``make test``
("reliability figures").

The last end-to-end file (``zzz``): it creates the session gateway's first keys, and keys never vanish from a
running gateway (security.md), so every test after it would need one."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

from citymind.access import ROLES, KeyStore
from tests.e2e._ingress import direct_ingress
from tests.e2e.conftest import REPO
from tests.hostile_payloads import Payload, payloads
from tests.integration.test_hostile_app import send

#: the CPU seconds (of all replica processes together) one request may cost
COST_BOUND_S = 2.0


def send_raw(url: str, payload: Payload, headers: dict[str, str]) -> int:
    """A request whose headers an HTTP client would refuse to send (a Content-Length that lies), over a socket;
    the server may answer, or close the connection (0): both refuse it."""
    address = urlsplit(url)
    head = [f"{payload.method} {payload.path} HTTP/1.1", f"host: {address.netloc}", "connection: close"]
    head += [f"{k}: {v}" for k, v in {**payload.headers, **headers}.items()]
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


def measured(
    http: httpx.Client, gateway: str, payload: Payload, headers: dict[str, str], procs: list[psutil.Process]
) -> tuple[int, float]:
    """The status, and the CPU the replicas spent while the payload was answered."""
    before = cpu_seconds(procs)
    raw = "content-length" in payload.headers
    status = send_raw(gateway, payload, headers) if raw else send(http, payload, headers).status_code
    return status, cpu_seconds(procs) - before


def least_cost(
    send_once: Callable[[], tuple[int, float]], tries: int = 4, pause_s: float = 5.0
) -> tuple[int, float, int]:
    """The status and CPU of one answer, and how many sends it took. The measure is the replicas' whole CPU, so
    their background work (alias watchers, the overdue sweep, Ray's own threads) falls into it, and on a machine
    busy with other work it can fill one request's window several times over (3.6 CPU-s for 256 triaged reports
    in one CI run, 0.1 s on a quiet one). A request over the bound is sent again, ``pause_s`` apart, up to
    ``tries`` times, and its cost is the least: a cost of its own repeats every time, background work does not."""
    status, spent = send_once()
    sends = 1
    while spent > COST_BOUND_S and sends < tries:
        time.sleep(pause_s)
        spent = min(spent, send_once()[1])
        sends += 1
    return status, spent, sends


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


def test_hostile_payloads_against_the_gateway_as_every_role(proxy: str, gateway_home: Path, figure: Any) -> None:
    # through Serve's HTTP proxy: it stays where it is when a replica is replaced (test_zz_fault_replica.py, before
    # this one, replaces the ingress replica, whose direct-ingress port may move)
    gateway = proxy
    procs = replicas()
    assert procs, "no Serve replica process found"
    store = KeyStore(gateway_home / "keys.json")  # the session gateway's keys file (tests/e2e/conftest.py)
    callers = {"anonymous": {}, "wrong key": {"x-api-key": "cm_0000_wrong"}}
    callers |= {role: {"x-api-key": store.create(f"hostile-{role}", role)[1]} for role in ROLES}
    cases = [(p, c) for p in payloads() for c in callers if not (p.expect and c not in ("admin", "anonymous"))]
    with httpx.Client(base_url=gateway, timeout=60) as http:
        assert send(http, payloads()[0], {}).status_code == 401  # the gateway read its first keys: auth is on
        for payload in payloads():  # warm: the event engine, components and decoders load on first use, once
            if "content-length" not in payload.headers:
                send(http, payload, callers["admin"])
        rss_before = ingress_rss(procs)
        failures, costly, resent, worst = [], [], [], ("", 0.0)
        statuses: dict[int, int] = {}
        for payload, caller in cases:
            try:
                status, spent, sends = least_cost(lambda: measured(http, gateway, payload, callers[caller], procs))
            except (httpx.HTTPError, OSError) as exc:  # a dropped connection counts as a failure, like a 5xx
                failures.append(f"{payload.name} as {caller}: {type(exc).__name__}")
                continue
            statuses[status] = statuses.get(status, 0) + 1
            worst = max(worst, (f"{payload.name} as {caller}", spent), key=lambda w: w[1])
            if status >= 500:
                failures.append(f"{payload.name} as {caller}: {status}")
            if sends > 1:
                resent.append(f"{payload.name} as {caller}: {sends}")
            if spent > COST_BOUND_S:
                costly.append(f"{payload.name} as {caller}: {spent:.2f} s of CPU, {sends} times")
        live = http.get("/v2/health/live").status_code
    growth = (ingress_rss(procs) - rss_before) / 2**20
    summary = {"payloads": len(payloads()), "callers": list(callers), "requests": len(cases),
               "statuses": dict(sorted(statuses.items())), "5xx": len(failures),
               "worst_cpu_s": [worst[0], round(worst[1], 3)], "resent": resent,
               "ingress_rss_growth_mb": round(growth, 1)}  # fmt: skip
    figure("hostile: " + json.dumps(summary, ensure_ascii=False))
    assert failures == [] and costly == [] and live == 200, failures + costly
    assert len(payloads()) >= 80 and growth < 200, summary


def test_schemathesis_with_every_check_finds_nothing_as_a_consumer(
    gateway: str, gateway_home: Path, figure: Any
) -> None:
    """Schemathesis' CLI, every check on (undocumented statuses, answers against their schema, schema-valid requests
    rejected, schema-violating ones accepted, methods, auth ...), all its phases, with a consumer's key, against the
    real gateway over HTTP; the repository's schemathesis.toml says how 422 is read. It calls the ingress replica's
    own port, the gateway's main one (the hostile payloads above go through Serve's proxy, so both are fuzzed): on
    a quiet machine 106 s and 128 CPU-s (schemathesis and Ray together), through the proxy 143 s and 184 CPU-s."""
    secret = KeyStore(gateway_home / "keys.json").create("schemathesis", "consumer")[1]
    url = direct_ingress(gateway)  # the replica test_zz_fault_replica.py started in place of the killed one
    with httpx.Client(base_url=url, timeout=30) as http:  # the gateway reads the new key within its interval
        for _ in range(100):
            if http.get("/v1/components", headers={"x-api-key": secret}).status_code == 200:
                break
            time.sleep(0.2)
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(REPO / "schemathesis.toml")]
    command += ["--no-color", "run", f"{url}/openapi.json", "--checks", "all", "-H", f"X-API-Key: {secret}"]
    command += ["--max-examples", "20", "--seed", "20261205"]
    # The time a request may take is the gateway's to bound (the CPU measure above, model runs stopped at 10 s); the
    # client's limit only has to tell a hang from a busy machine. At 10 s (schemathesis' default) it failed CI once:
    # while the other test worker trained on both cores a 401 took 0.9 s and listing five models 8.9 s, then 10.1 s.
    # `--checks all` also turns on ST112, an answer slower than 10 s: a 404 for a forecaster that is not registered
    # (15 ms on a quiet machine) took 10.2 s in a CI run that took 44 minutes in all. The same reading as above.
    command += ["--request-timeout", "60", "--max-response-time", "30"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)
    cases = next((line.strip() for line in run.stdout.splitlines() if " generated, " in line), "")
    figure(f"schemathesis (every check, consumer key, real gateway): {cases}")
    assert run.returncode == 0 and " passed" in cases, run.stdout[-6000:]
