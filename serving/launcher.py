"""Start the gateway on Ray Serve: a local Ray bound to 127.0.0.1 unless an address is configured."""

from __future__ import annotations

import os
import time
from typing import Any

from serving.deployments import GatewayConfig, build_gateway

APP_NAME = "citymind"


def start_ray(address: str = "", *, num_cpus: int | None = None) -> None:
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no ~/.ray/auth_token on a single machine
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
            configure_logging=False,
        )


def start_gateway(config: GatewayConfig, *, host: str = "127.0.0.1", port: int = 8000, ray_address: str = "") -> str:
    """Deploy the gateway and return its base URL once every deployment is ready."""
    from ray import serve

    start_ray(ray_address)
    serve.start(http_options={"host": host, "port": port}, detached=False)
    serve.run(build_gateway(config), name=APP_NAME, route_prefix="/", blocking=False)
    return f"http://{host}:{port}"


def stop_gateway() -> None:
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def serve_forever(settings: Any = None) -> None:
    from citymind.settings import get_settings

    s = settings or get_settings()
    url = start_gateway(GatewayConfig.from_settings(s), host=s.host, port=s.port, ray_address=s.ray_address)
    print(f"citymind gateway serving at {url}  (docs: {url}/docs, Ctrl-C to stop)", flush=True)
    print(
        f'try: curl -s {url}/v1/events/classify -H "content-type: application/json" '
        f'-d \'{{"text": "南村镇小区门口垃圾堆放很久没人清理"}}\'',
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop_gateway()
