"""Start the gateway on Ray Serve: a local Ray bound to 127.0.0.1 unless an address is configured.

The ingress replicas listen directly (Ray Serve's direct ingress: no proxy hop, measured ~1 ms vs ~6 ms through
the proxy on this box) on ports from ``port`` upwards; the Serve proxy stays up on ``port + 100`` and
load-balances across replicas. See docs/serving.md for the numbers behind this choice.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass

from citymind.settings import Settings, get_settings
from serving.deployments import GatewayConfig, build_gateway
from serving.state_actor import close_event_state_actors

APP_NAME = "citymind"
PROXY_OFFSET = 100


@dataclass(frozen=True)
class GatewayURLs:
    """Where the gateway answers: ``url`` is the first ingress replica, ``proxy_url`` the Serve proxy."""

    url: str
    replica_urls: tuple[str, ...]
    proxy_url: str


def ray_environment(port: int, *, direct_ingress: bool = True) -> dict[str, str]:
    """Environment Ray's processes must start with (set before ``ray.init`` / ``ray start``). ``RAY_AUTH_MODE`` is
    left to Ray, whose default for a new local Ray is its token auth: its gRPC servers (GCS, raylets, workers, each
    Serve replica's) listen on all interfaces and unpickle what they are sent, so they must refuse callers without
    the token. A local Ray gets a token of its own from ``start_ray``; a cluster sets ``RAY_AUTH_MODE=token`` and
    its token from a Secret (docs/deploy.md)."""
    env = {
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
        "RAY_SERVE_ENABLE_DIRECT_INGRESS": "1" if direct_ingress else "0",
        # arguments and results up to 2 MiB (a whole video request) go inline with the call instead of through
        # the object store: Ray's default of 100 KiB sent every 8-frame video request through plasma
        "RAY_max_direct_call_object_size": str(2 * 1024 * 1024),
        # Serve's controller gives a new proxy 5 s to say it is ready, then kills it, and `serve.start` (which waits
        # up to 60 s for that first proxy) fails: on a machine busy with other work the proxy took 26 s to start
        # and the gateway never came up. The same 60 s as serve.start's own wait.
        "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "60",
    }
    if direct_ingress:
        env |= {
            "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(port),
            "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(port + PROXY_OFFSET - 1),
            "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "2",
        }
    return env


def start_ray(address: str = "", *, env: dict[str, str] | None = None) -> None:
    import ray

    for key, value in (env or {}).items():
        os.environ.setdefault(key, value)
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:  # "local": a new Ray of our own, never a cluster someone else started with `ray start` on this box
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))  # this run's own (not ~/.ray/auth_token)
        ray.init(
            address="local",
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
            configure_logging=False,
        )


def _already_started(record: logging.LogRecord) -> bool:
    """Drops ``serve.run``'s note that it found the Serve instance ``serve.start`` just made and that "new
    http_options will not be applied": the options were ``serve.start``'s, and they were."""
    return not record.getMessage().startswith("Connecting to existing Serve app")


def start_gateway(
    config: GatewayConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    ray_address: str = "",
    direct_ingress: bool = True,
) -> GatewayURLs:
    """Deploy the gateway and return where it answers once every deployment is ready."""
    from ray import serve

    start_ray(ray_address, env=ray_environment(port, direct_ingress=direct_ingress))
    proxy_port = port + PROXY_OFFSET if direct_ingress else port
    serve.start(http_options={"host": host, "port": proxy_port})
    serve_log = logging.getLogger("ray.serve")
    serve_log.addFilter(_already_started)
    try:
        serve.run(build_gateway(config), name=APP_NAME, route_prefix="/", blocking=False)
    finally:
        serve_log.removeFilter(_already_started)
    proxy_url = f"http://{host}:{proxy_port}"
    replicas = tuple(f"http://{host}:{p}" for p in _ingress_ports()) if direct_ingress else ()
    return GatewayURLs(replicas[0] if replicas else proxy_url, replicas, proxy_url)


def _ingress_ports(timeout: float = 60.0) -> list[int]:
    """The direct-ingress HTTP ports of the gateway's replicas, from the Serve controller."""
    import ray
    from ray.serve.context import _get_global_client

    controller = _get_global_client()._controller  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        groups = ray.get(controller.get_target_groups.remote(APP_NAME))
        ports = sorted(t.port for g in groups if str(g.protocol).endswith("HTTP") for t in g.targets)
        if ports:
            return ports
        time.sleep(0.2)
    raise RuntimeError("the gateway's ingress replicas did not report their ports")


def stop_gateway() -> None:
    import ray
    from ray import serve

    if ray.is_initialized():
        serve.shutdown()
        close_event_state_actors()  # the ingress replicas are gone: saved to its file before Ray goes
        ray.shutdown()


def serve_forever(settings: Settings | None = None) -> None:
    """Start the gateway and serve until SIGINT (Ctrl-C) or SIGTERM, then shut Serve and Ray down."""
    s = settings or get_settings()
    try:
        urls = start_gateway(GatewayConfig.from_settings(s), host=s.host, port=s.port, ray_address=s.ray_address)
        stop = _stop_on_signals()  # after ray.init, which installs its own SIGTERM handler
        _print_banner(urls)
        while not stop.wait(1.0):
            pass
    except SystemExit as exit_:
        # Ray's own SIGTERM handler (ray.init's: sys.exit(15)) can be the one a container engine's stop meets
        # (CI saw it once: status 15 after a clean shutdown); either handler means "stop", and stopping is clean
        if exit_.code != signal.SIGTERM:
            raise
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts the shutdown
        # a second SIGTERM (a container engine's stop reaching the process group while Ray tears its processes
        # down) would meet Ray's handler, which exits with status 15 half-way: the shutdown finishes instead
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping the gateway ...", flush=True)
        stop_gateway()
        print("gateway stopped", flush=True)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    return stop


def _print_banner(urls: GatewayURLs) -> None:
    print(
        f"citymind gateway serving at {urls.url}  (docs: {urls.url}/docs; Serve proxy {urls.proxy_url}; "
        "Ctrl-C to stop)",
        flush=True,
    )
    print(
        f'try: curl -s {urls.url}/v1/events/classify -H "content-type: application/json" '
        f'-d \'{{"text": "南村镇小区门口垃圾堆放很久没人清理"}}\'',
        flush=True,
    )
