"""Shared fixtures: real MLflow stores (embedded sqlite and a real `mlflow server`), real data paths."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("CITYMIND_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that start a real `mlflow server` (``-m "not server"`` skips them); skip real-data tests when
    the data folder is absent; under pytest-xdist's ``--dist loadgroup`` (``make test``) keep each file on one
    worker, and every end-to-end test on the same one: they share one gateway, in order."""
    data = shared_data_dir()
    skip = pytest.mark.skip(reason=f"real data folder {data} is absent (set CITYMIND_SHARED_DATA)")
    groups = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if uses_mlflow_server(item):
            item.add_marker(pytest.mark.server)
        if "realdata" in item.keywords and not data.is_dir():
            item.add_marker(skip)
        if groups:
            item.add_marker(pytest.mark.xdist_group(worker_group(item)))


def worker_group(item: pytest.Item) -> str:
    """The end-to-end tests as one group (the session gateway, test_zzz_hostile last), any other test with its
    file (module fixtures set up once)."""
    path = item.path.resolve().relative_to(REPO)
    return "e2e" if path.parts[:2] == ("tests", "e2e") else path.as_posix()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Each worker's node ids must carry their group (xdist's channel to its scheduler): without it a file's tests
    would be spread over both workers, apart from the module fixtures and the order they rely on."""
    lost = [nodeid for nodeid in ids if "@" not in nodeid]
    if node.config.getvalue("dist") == "loadgroup" and lost:
        pytest.exit(
            f"pytest-xdist did not group {len(lost)} tests (first: {lost[0]}); this pytest keeps node ids where "
            "xdist's --dist loadgroup does not reach (pytest-xdist#1386): install the pytest that pyproject.toml "
            "pins, or run one process (make test TEST_WORKERS=0)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def uses_mlflow_server(item: pytest.Item) -> bool:
    """Directly, or through the ``store`` fixture's ``server`` parameter."""
    callspec = getattr(item, "callspec", None)
    on_server = callspec is not None and callspec.params.get("store") in ("server", "postgres")
    fixtures = getattr(item, "fixturenames", ())
    return on_server or "mlflow_server" in fixtures or "postgres_mlflow_server" in fixtures


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("citymind-home")
    return {
        "tracking_uri": f"sqlite:///{home / 'mlflow.db'}",
        "artifact_location": (home / "artifacts").as_uri(),
        "home": str(home),
    }


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real `mlflow server` on 127.0.0.1 with proxied artifacts; stopped at the end of the session."""
    root = tmp_path_factory.mktemp("mlflow-server")
    with running_mlflow_server(root, f"sqlite:///{root / 'server.db'}") as server:
        yield server


@pytest.fixture(scope="session")
def postgres_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real `mlflow server` whose backend store is a throwaway PostgreSQL cluster (Debian's ``postgresql``,
    127.0.0.1 only). Skipped with the reason where PostgreSQL is not installed, unless CI requires it
    (``CITYMIND_REQUIRE_POSTGRES=1``, set by .ci/run once .ci/install_postgres.sh succeeded)."""
    from tests import _postgres

    reason = _postgres.unavailable_reason()
    if reason:
        if os.environ.get("CITYMIND_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CITYMIND_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("mlflow-postgres")
    cluster = _postgres.start(root, free_port())
    try:
        with running_mlflow_server(root, cluster.uri, env={"PGPASSFILE": str(cluster.pgpass)}) as server:
            yield {**server, "postgres_log": str(cluster.log), "pgpass": str(cluster.pgpass)}
    finally:
        _postgres.stop(cluster)


@contextlib.contextmanager
def running_mlflow_server(
    root: Path, backend_uri: str, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[dict[str, str]]:
    """`mlflow server` on a free port of 127.0.0.1 over ``backend_uri``, artifacts proxied to ``root``; ``args``
    are more of its options (``--app-name basic-auth``)."""
    port = free_port()
    log = root / "server.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            backend_uri,
            "--artifacts-destination",
            str(root / "artifacts"),
            "--workers",
            "1",
            *args,
        ],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        cwd=root,
        # MLflow 3's job runner (GenAI jobs, ~8 huey worker processes) is not used by citymind
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("mlflow server did not become healthy in 120 s")
    try:
        yield {"tracking_uri": url, "artifact_location": "", "home": str(root)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


#: registry stores: embedded sqlite, an `mlflow server` on sqlite, an `mlflow server` on PostgreSQL
STORES = {"embedded": "embedded_store", "server": "mlflow_server", "postgres": "postgres_mlflow_server"}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """Each registry contract test runs against the embedded sqlite store and real MLflow servers (sqlite and
    PostgreSQL backends)."""
    return dict(request.getfixturevalue(STORES[request.param]))


@pytest.fixture
def registry(store: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    from registry import MlflowRegistry

    return MlflowRegistry(
        store["tracking_uri"],
        artifact_location=store["artifact_location"] or None,
        cache_dir=tmp_path / "cache",
    )


@pytest.fixture
def unique() -> str:
    """A fresh asset-name suffix: stores are shared per session, so tests never collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def point_mlflow(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Points MLflow's process-wide tracking and registry URIs at a store, as a data scientist's script does; both
    (globals and environment) are put back after the test, so whatever xdist runs next in this process starts clean."""
    import mlflow
    import mlflow.tracking._model_registry.utils as registry_uri
    import mlflow.tracking._tracking_service.utils as tracking_uri

    monkeypatch.setattr(registry_uri, "_registry_uri", registry_uri._registry_uri)
    monkeypatch.setattr(tracking_uri, "_tracking_uri", tracking_uri._tracking_uri)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):  # set_*_uri export them for subprocesses
        monkeypatch.setenv(name, os.environ.get(name, ""))  # recorded as found, absent or not
        if not os.environ[name]:
            monkeypatch.delenv(name)

    def point(uri: str) -> None:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)

    return point


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Any:
    """``figure("load: 443 req/s ...")`` records a line for the end-of-run summary (see docs/reliability.md): the
    figures the reliability suites measured (load held, faults survived, inputs tried). Kept on the test's report,
    so an xdist worker's figures reach the summary too."""
    return lambda line: request.node.user_properties.append(("figure", line))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, ()) if r.when == "call"]
    lines = [value for r in reports for name, value in r.user_properties if name == "figure"]
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
