"""One real gateway for the end-to-end tests: an embedded registry bootstrapped with the defaults, Ray Serve on
127.0.0.1 in a process of its own, torn down after them."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

E2E = Path(__file__).resolve().parent
REPO = E2E.parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every end-to-end test starts (or shares) a real Ray Serve gateway: ``-m "not serve"`` skips them. The tests
    that start their own (an image, a serving install, a cluster of nodes ...) go first, in file order: the shared
    gateway starts after them, so its idle Ray (a sixth of a core, measured) never competes with theirs."""
    end_to_end = [item for item in items if E2E in item.path.resolve().parents]
    for item in end_to_end:
        item.add_marker(pytest.mark.serve)
    shared = {item.path for item in end_to_end if "gateway_urls" in item.fixturenames}  # files, kept whole
    ordered = iter(sorted(end_to_end, key=lambda item: item.path in shared))  # a stable sort
    items[:] = [next(ordered) if E2E in item.path.resolve().parents else item for item in items]


@pytest.fixture(scope="package")
def gateway_image() -> Iterator[str]:
    """The gateway image, built once (tests/e2e/_image.py); skipped with the reason where podman or the base image
    is absent, failed instead once CI installed them (CITYMIND_REQUIRE_CONTAINER=1). Removed after the last test."""
    from tests.e2e import _image

    reason = _image.missing()
    if reason:
        if _image.REQUIRED:
            pytest.fail(f"CITYMIND_REQUIRE_CONTAINER=1 but {reason}")
        pytest.skip(reason)
    try:
        yield _image.build(REPO)
    finally:
        _image.podman("rmi", "-f", _image.IMAGE)  # 1.6 GB a build: nothing left behind on the machine


@pytest.fixture(scope="session")
def gateway_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-home")


@pytest.fixture(scope="session")
def gateway_registry(gateway_home: Path) -> Any:
    from citymind.cli.bootstrap import bootstrap
    from registry import MlflowRegistry

    reg = MlflowRegistry(
        f"sqlite:///{gateway_home / 'mlflow.db'}",
        artifact_location=(gateway_home / "artifacts").as_uri(),
        cache_dir=gateway_home / "cache",
    )
    lines = list(bootstrap(reg))
    assert any("event-classifier/1 @champion" in line for line in lines), lines
    return reg


@pytest.fixture(scope="package")
def gateway_urls(gateway_registry: Any, gateway_home: Path) -> Iterator[dict[str, Any]]:
    """The gateway on Ray Serve, started by a process of its own (tests/e2e/_gateway_process.py) over the
    bootstrapped registry; stopped (Serve and Ray shut down) after the last end-to-end test, so an idle Ray does
    not share the cores with the rest of the run."""
    settings = {
        "refresh_interval": 0.5,
        "video": {"shards": 2},  # e2e video cameras land on both shards
        "keys_file": str(gateway_home / "keys.json"),  # none until test_zzz_hostile.py, the last, makes some
        "events_url": f"sqlite:///{gateway_home / 'events.db'}",
        "reporter_key_file": str(gateway_home / "reporter.key"),
    }
    with gateway_process(gateway_registry, gateway_home, settings) as urls:
        yield urls


@pytest.fixture(scope="package")
def gateway(gateway_urls: dict[str, Any]) -> str:
    """The first ingress replica's URL."""
    return str(gateway_urls["url"])


@pytest.fixture(scope="package")
def proxy(gateway_urls: dict[str, Any]) -> str:
    """The Serve HTTP proxy in front of every ingress replica (it stays put when a replica restarts elsewhere)."""
    from urllib.parse import urlsplit

    from serving.launcher import PROXY_OFFSET

    address = urlsplit(str(gateway_urls["url"]))
    return f"{address.scheme}://{address.hostname}:{(address.port or 80) + PROXY_OFFSET}"


#: past cases of the knowledge snapshot the client tests search (test_gateway_triage.py moves on to real ones)
CASES = [
    ("pd-001", "东阁街道路灯不亮", "晚上小区门口一片漆黑", "市城市管理局已安排维修人员更换路灯线路。"),
    ("pd-002", "南村镇垃圾堆放", "菜市场旁垃圾一周没人清理", "南村镇已组织环卫人员清运垃圾并增加清运频次。"),
    ("pd-003", "公司拖欠工资", "工地三个月没发工资", "市人力资源和社会保障局劳动监察大队已督促企业支付工资。"),
    ("pd-004", "凤台街道夜间施工噪音", "工地凌晨还在施工", "市生态环境局已责令施工单位停止夜间施工。"),
]


@pytest.fixture(scope="package")
def knowledge_cases(gateway_registry: Any, gateway: str) -> int:
    """pingdu-knowledge@production moved to a version with a case index of ``CASES``, served; its version."""
    from knowledge_graph.cases import Case
    from knowledge_graph.retrieval import CaseIndex
    from knowledge_graph.snapshot import KnowledgeSnapshot

    snapshot = KnowledgeSnapshot.from_registry(gateway_registry, "pingdu-knowledge@production")
    if snapshot.cases is not None:  # already moved on (test_gateway_triage.py's real cases)
        return int(gateway_registry.resolve("pingdu-knowledge@production").version)
    snapshot.cases = CaseIndex(embedder="svd").fit([Case(*case) for case in CASES])
    return serve_knowledge(gateway, gateway_registry, snapshot, "with 4 written cases")


def serve_knowledge(gateway: str, registry: Any, snapshot: Any, description: str) -> int:
    """``snapshot`` registered as the next pingdu-knowledge@production, once the gateway serves it; its version."""
    version = snapshot.register(registry, "pingdu-knowledge", description=description).version
    deadline = time.monotonic() + 90  # the engine re-reads the alias every refresh, then loads the new snapshot
    while httpx.get(f"{gateway}/v1/health", timeout=30).json()["parts"]["knowledge"]["version"] != version:
        assert time.monotonic() < deadline, f"the gateway did not take pingdu-knowledge/{version} ({description})"
        time.sleep(0.5)
    return int(version)


@contextlib.contextmanager
def gateway_process(registry: Any, home: Path, settings: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A gateway over ``registry`` with ``settings`` (GatewayConfig fields) in a process of its own, ready; yields
    ``{"url": first ingress replica, "replica_urls": [...], "gcs_address": ...}`` and stops it (Serve and Ray shut
    down) after."""
    config = home / "gateway.json"
    fields = {
        "tracking_uri": registry.tracking_uri,
        "artifact_location": registry.artifact_location,
        "cache_dir": str(home / "gateway-cache"),
        "port": free_port(),
    }
    config.write_text(json.dumps(fields | settings))
    Path(f"{config}.url").unlink(missing_ok=True)  # an earlier gateway's, in the same home
    log = home / "gateway.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e._gateway_process", str(config)],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:
        urls = wait_for_urls(proc, Path(f"{config}.url"), log)
        ready = httpx.get(f"{urls['url']}/v2/health/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        yield urls
    finally:
        stop(proc)


def wait_for_urls(proc: subprocess.Popen, url_file: Path, log: Path, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not url_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the gateway did not start: {log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)
    return dict(json.loads(url_file.read_text()))


def stop(proc: subprocess.Popen) -> None:
    """Close the gateway process's stdin (it then shuts Serve and Ray down); kill it if that takes over 60 s."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def client(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, timeout=30) as http:
        yield http
