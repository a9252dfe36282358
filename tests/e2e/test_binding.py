"""Security by default: the gateway's HTTP endpoints (the direct-ingress replica and the Serve proxy) listen on
the loopback interface only. (Ray 2.60's own gRPC servers still listen on all interfaces whatever the node address;
docs/deploy.md says how to fence them.)"""

from __future__ import annotations

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
