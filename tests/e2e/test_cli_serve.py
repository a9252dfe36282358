"""`make run` as a person runs it: `citymind bootstrap`, then `citymind serve` in its own process (its own local
Ray, not the session gateway's), a Chinese report over real HTTP, and Ctrl-C / SIGTERM stops it cleanly, writing
its event state on the way out."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from events.records import EventRecords
from tests.conftest import free_port

pytestmark = [pytest.mark.serve, pytest.mark.slow]

REPORT = "南村镇小区门口垃圾堆放很久没人清理，希望尽快处理"


def citymind_cli() -> list[str]:
    script = Path(sys.executable).with_name("citymind")
    return [str(script)] if script.exists() else [sys.executable, "-m", "citymind.cli"]


def gateway_port() -> int:
    """A free port whose Serve proxy port (+100) is free too."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port + 100)) != 0:
                return port
    raise RuntimeError("no free port pair")


@pytest.fixture(scope="module")
def bootstrapped_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`citymind bootstrap` into a fresh CITYMIND_HOME, once for the module."""
    home = tmp_path_factory.mktemp("cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYMIND_", "RAY_ADDRESS"))}
    env["CITYMIND_HOME"] = str(home / ".citymind")
    done = subprocess.run([*citymind_cli(), "bootstrap"], env=env, cwd=home, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "event-classifier/1 @champion" in done.stdout, done.stdout
    return env


def ctrl_c(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C signals the whole foreground group, Ray's too


def sigterm(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)  # what a supervisor sends (ray.init installs its own handler for it)


@pytest.mark.parametrize("stop", [ctrl_c, sigterm])
def test_citymind_serve_classifies_a_report_and_stops_cleanly(
    bootstrapped_home: dict[str, str], tmp_path: Path, stop: Callable[[subprocess.Popen], None]
) -> None:
    env = {**bootstrapped_home, "CITYMIND_PORT": str(gateway_port())}
    url = f"http://127.0.0.1:{env['CITYMIND_PORT']}"
    state = Path(env["CITYMIND_HOME"]) / "event_state.json"
    state.unlink(missing_ok=True)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*citymind_cli(), "serve"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        expected = expected_category(env, tmp_path / "cache")  # while Ray starts
        url = wait_until_serving(proc, log)  # the banner's address: another Ray on this box may hold the first port
        body = httpx.post(f"{url}/v1/events/classify", json={"text": REPORT}, timeout=30).json()
        assert body["category"] == expected, body
        assert body["model"] == "event-classifier" and body["version"] == 1
        assert httpx.get(f"{url}/v2/health/ready", timeout=10).status_code == 200
        head = httpx.head(f"{url}/v2/health/ready", timeout=10)  # through Serve's proxy, as a monitor asks
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        assert len(session_processes(proc.pid)) > 1, "citymind serve started no Ray processes"
        triaged = httpx.post(f"{url}/v1/events/triage", json={"report": {"text": REPORT}}, timeout=60).json()

        stop(proc)
        assert proc.wait(timeout=90) == 0, log.read_text()[-3000:]
        assert "gateway stopped" in log.read_text()
        assert wait_for_no_processes(proc.pid) == {}, "Ray processes outlived citymind serve"
        assert json.loads(state.read_text(encoding="utf-8"))["format"] == 2  # the event state, written as it stopped
        records = EventRecords(f"sqlite:///{Path(env['CITYMIND_HOME']) / 'events.db'}", migrate=False)
        assert records.get(triaged["event_id"])["report_id"] == triaged["id"]  # recorded in the embedded store
        records.close()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/v2/health/live", timeout=5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until_serving(proc: subprocess.Popen, log: Path, timeout: float = 180) -> str:
    """The URL the banner names, once it is printed."""
    deadline = time.monotonic() + timeout
    while (found := re.search(r"citymind gateway serving at (http://\S+)", log.read_text())) is None:
        assert proc.poll() is None, f"citymind serve exited with {proc.returncode}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not serving after {timeout} s: {log.read_text()[-3000:]}"
        time.sleep(0.2)
    return found.group(1)


def session_processes(session: int) -> dict[int, str]:
    """Live processes of a session (the CLI and every Ray process it started), by pid, with their names."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == session:
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return found


def wait_for_no_processes(session: int, timeout: float = 30) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (alive := session_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return alive


def expected_category(env: dict[str, str], cache: Path) -> str:
    """What the registered champion itself says, read straight from the registry the CLI bootstrapped."""
    import numpy as np

    from models.onnx_session import OnnxTextClassifier
    from registry import MlflowRegistry

    home = Path(env["CITYMIND_HOME"])
    reg = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(), cache_dir=cache
    )
    model = OnnxTextClassifier.from_path(reg.load("event-classifier@champion"))
    return model.classes[int(np.argmax(model.predict_proba([REPORT])[0]))]
