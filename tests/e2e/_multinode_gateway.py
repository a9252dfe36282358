"""Driver of the multi-node test, in a process of its own (the test session has its own Ray): a head and a worker
node on this machine (``ray.cluster_utils.Cluster``: the same raylet, GCS and workers ``ray start`` runs), the
gateway deployed over both, then every process of the worker node SIGKILLed while requests keep coming through
the head's Serve proxy. Prints one JSON line: where the replicas ran, and what the clients saw after the kill.

usage: python -m tests.e2e._multinode_gateway PORT HOME
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from serving.launcher import APP_NAME, ray_environment

MODEL = "probe"
ONES = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1.0, 1.0, 1.0, 1.0]}]}
REPLICAS = 2


def main() -> None:
    port, home = int(sys.argv[1]), Path(sys.argv[2])
    os.environ.update(ray_environment(port))  # as on a real cluster: set for every node before it starts
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))  # the cluster's token, as its Secret would give
    from ray.cluster_utils import Cluster

    registry = register_probe(home)
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        print(json.dumps(run(cluster, worker, registry, port)), flush=True)
    finally:
        from serving.launcher import stop_gateway

        stop_gateway()
        cluster.shutdown()


def register_probe(home: Path) -> Any:
    from registry import MlflowRegistry
    from tests.integration._assets import tiny_onnx

    registry = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(), cache_dir=home / "cache"
    )
    version = registry.register("model", MODEL, tiny_onnx(home / "probe.onnx", 1.0))
    registry.set_alias(MODEL, "champion", version.version)
    return registry


def run(cluster: Any, worker: Any, registry: Any, port: int) -> dict[str, Any]:
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway

    config = GatewayConfig(
        tracking_uri=registry.tracking_uri,
        artifact_location=registry.artifact_location,
        cache_dir=str(Path(registry.cache_dir).parent / "gateway-cache"),
        preload=(MODEL,),
        ingress_replicas=REPLICAS,
        runner_replicas=REPLICAS,
        video=None,
    )
    started = time.monotonic()
    urls = start_gateway(config, port=port, ray_address=cluster.address)
    wait_for_running(REPLICAS, timeout=60)
    deployed_s = time.monotonic() - started
    head, worker_id = cluster.head_node.node_id, worker.node_id
    placement = replica_nodes()
    answers = {url: answer(url) for url in urls.replica_urls}

    probe = Probe(urls.proxy_url)
    probe.start()
    time.sleep(2.0)  # requests flowing before the loss
    killed_at = time.monotonic()
    cluster.remove_node(worker, allow_graceful=False)  # SIGKILL: raylet, workers, agents of the worker node
    detected_s = wait_until(lambda: worker_id not in {n for ns in replica_nodes().values() for n in ns}, 90)
    time.sleep(1.0)
    during = replica_nodes()
    added_at = time.monotonic()
    replacement = cluster.add_node(num_cpus=1)  # what KubeRay does with a lost worker pod
    restored_s = wait_for_running(REPLICAS, timeout=90) - added_at
    time.sleep(1.0)
    probe.stop()
    return {
        "nodes": {"head": head, "worker": worker_id, "replacement": replacement.node_id},
        "deploy_s": round(deployed_s, 1),
        "placement_before": placement,
        "placement_without_worker": during,
        "placement_after": replica_nodes(),
        "direct_answers": answers,
        "dead_replicas_detected_s": round(detected_s - killed_at, 1),
        "restored_after_new_node_s": round(restored_s, 1),
        **probe.summary(killed_at),
    }


class Probe(threading.Thread):
    """Sequential clients against one URL, a new connection per request (as behind a load balancer)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.results = url, []  # type: ignore[var-annotated]
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            sent = time.monotonic()
            try:
                response = httpx.post(f"{self.url}/v2/models/{MODEL}/infer", json=ONES, timeout=5)
                ok, detail = response.status_code == 200, str(response.status_code)
            except httpx.HTTPError as exc:
                ok, detail = False, type(exc).__name__
            self.results.append((sent, time.monotonic(), ok, detail))
            time.sleep(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)

    def summary(self, killed_at: float) -> dict[str, Any]:
        after = [r for r in self.results if r[0] >= killed_at]
        failed = [r for r in after if not r[2]]
        last_failure = max((r[1] for r in failed), default=killed_at)
        return {
            "requests_before_kill": sum(1 for r in self.results if r[0] < killed_at),
            "failures_before_kill": sum(1 for r in self.results if r[0] < killed_at and not r[2]),
            "requests_after_kill": len(after),
            "failures_after_kill": len(failed),
            "failure_kinds": sorted({r[3] for r in failed}),
            "recovered_s": round(last_failure - killed_at, 2),
            "successes_after_last_failure": sum(1 for r in after if r[0] > last_failure and r[2]),
            "max_latency_after_kill_s": round(max((r[1] - r[0] for r in after), default=0.0), 2),
        }


def answer(url: str) -> list[float]:
    response = httpx.post(f"{url}/v2/models/{MODEL}/infer", json=ONES, timeout=30)
    response.raise_for_status()
    return list(response.json()["outputs"][0]["data"])


def replica_nodes() -> dict[str, list[str]]:
    """Node of every live replica, per deployment (from the GCS actor table)."""
    from ray._private import state

    placement: dict[str, list[str]] = {}
    for actor in state.actors().values():
        name = actor.get("ActorClassName", "")
        if name.startswith(f"ServeReplica:{APP_NAME}:") and actor.get("State") == "ALIVE":
            placement.setdefault(name.rsplit(":", 1)[1], []).append(actor["Address"]["NodeID"])
    return {k: sorted(v) for k, v in sorted(placement.items())}


def wait_until(condition: Any, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {condition}")
        time.sleep(0.2)
    return time.monotonic()


def wait_for_running(replicas: int, timeout: float) -> float:
    """Block until every deployment of the app has ``replicas`` RUNNING replicas; the time it happened."""
    from ray import serve
    from ray.serve.schema import ReplicaState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = serve.status().applications.get(APP_NAME)
        states = {name: d.replica_states for name, d in app.deployments.items()} if app else {}
        if states and all(s.get(ReplicaState.RUNNING, 0) == replicas and len(s) == 1 for s in states.values()):
            return time.monotonic()
        time.sleep(0.2)
    raise TimeoutError(f"deployments did not get back to {replicas} running replicas in {timeout} s: {states}")


if __name__ == "__main__":
    main()
