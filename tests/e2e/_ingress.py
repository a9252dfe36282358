"""The session gateway's ingress replicas as processes: which ones run, and the direct-ingress port each listens on
(a replica Serve starts again may listen on another port of the gateway's range than the one it replaced)."""

from __future__ import annotations

import contextlib
import time
from urllib.parse import urlsplit

import httpx
import psutil

from serving.launcher import PROXY_OFFSET


def ingress_pids() -> set[int]:
    """This session's ingress replicas: Ray's processes descend from this test process (through its gateway
    process; another Ray on the same box must not be touched)."""
    found = set()
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "ServeReplica:citymind:gateway" in " ".join(proc.cmdline()):
                found.add(proc.pid)
    return found


def direct_port(pids: set[int], first: int) -> int:
    """The HTTP port one of the ingress replicas ``pids`` serves on, in the gateway's direct-ingress range. A
    replica process listens on other ports too (Ray's core worker takes an ephemeral one, which can fall in that
    range: a run once took such a port for the gateway's), so the port is the one that answers HTTP."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for port in sorted(listening(pids) & set(range(first, first + PROXY_OFFSET))):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=5).status_code == 200:
                    return port
        time.sleep(0.2)
    raise AssertionError(f"replicas {pids} answer HTTP on no port of {first}..{first + PROXY_OFFSET - 1}")


def listening(pids: set[int]) -> set[int]:
    """The TCP ports the processes ``pids`` listen on."""
    ports = set()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            ports |= {
                c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN
            }
    return ports


def direct_ingress(gateway: str) -> str:
    """The URL an ingress replica of the gateway first reached at ``gateway`` listens on now."""
    address = urlsplit(gateway)
    return f"{address.scheme}://{address.hostname}:{direct_port(ingress_pids(), address.port or 80)}"
