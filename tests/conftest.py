"""Shared fixtures: real MLflow stores (embedded sqlite and a real `mlflow server`), real data paths."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("CITYMIND_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that start a real `mlflow server` (``-m "not server"`` skips them); skip real-data tests when
    the data folder is absent."""
    data = shared_data_dir()
    skip = pytest.mark.skip(reason=f"real data folder {data} is absent (set CITYMIND_SHARED_DATA)")
    for item in items:
        if uses_mlflow_server(item):
            item.add_marker(pytest.mark.server)
        if "realdata" in item.keywords and not data.is_dir():
            item.add_marker(skip)


def uses_mlflow_server(item: pytest.Item) -> bool:
    """Directly, or through the ``store`` fixture's ``server`` parameter."""
    callspec = getattr(item, "callspec", None)
    on_server = callspec is not None and callspec.params.get("store") == "server"
    return on_server or "mlflow_server" in getattr(item, "fixturenames", ())


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
    port = free_port()
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
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=open(root / "server.log", "w"),
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("mlflow server did not become healthy in 120 s")
    yield {"tracking_uri": url, "artifact_location": "", "home": str(root)}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """Each registry contract test runs against the embedded sqlite store and a real MLflow server."""
    fixture = "embedded_store" if request.param == "embedded" else "mlflow_server"
    return dict(request.getfixturevalue(fixture))


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
