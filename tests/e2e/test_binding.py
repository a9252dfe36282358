"""Security by default: the gateway's HTTP endpoints (the direct-ingress replica and the Serve proxy) listen on
the loopback interface only, and Ray's own gRPC servers, which Ray 2.60 binds on all interfaces whatever the node
address, refuse callers without the run's token (Ray's token auth; docs/deploy.md says how to fence them on a
cluster)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse

import psutil


def test_the_gateway_listens_on_loopback_only(gateway: str) -> None:
    from serving.launcher import PROXY_OFFSET

    port = urlparse(gateway).port
    assert port is not None
    ports = {port, port + PROXY_OFFSET}
    listening = [
        (c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port in ports
    ]
    assert listening and {ip for ip, _ in listening} <= {"127.0.0.1", "::1"}, listening


def test_rays_servers_refuse_a_caller_without_the_runs_token(gateway_urls: dict[str, Any]) -> None:
    join = f"import ray; ray.init(address={gateway_urls['gcs_address']!r}, log_to_driver=False)"
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}  # not the gateway's token
    done = subprocess.run([sys.executable, "-c", join], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode != 0 and "InvalidAuthToken" in done.stderr, done.stderr[-2000:]
