"""The session gateway's ingress replicas as processes: which ones run, and the direct-ingress port each listens on
(a replica Serve starts again may listen on another port of the gateway's range than the one it replaced)."""

from __future__ import annotations

import contextlib
import time
from urllib.parse import urlsplit

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
    """The HTTP port one of the ingress replicas ``pids`` listens on, in the gateway's direct-ingress range."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                for conn in psutil.Process(pid).net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN and first <= conn.laddr.port < first + PROXY_OFFSET:
                        return int(conn.laddr.port)
        time.sleep(0.2)
    raise AssertionError(f"replicas {pids} listen on no port of {first}..{first + PROXY_OFFSET - 1}")


def direct_ingress(gateway: str) -> str:
    """The URL an ingress replica of the gateway first reached at ``gateway`` listens on now."""
    address = urlsplit(gateway)
    return f"{address.scheme}://{address.hostname}:{direct_port(ingress_pids(), address.port or 80)}"
