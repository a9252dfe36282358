"""`pip install citymind` serves: deploy/install.sh (what the images run) puts a serving install in a fresh venv,
without torch, statsmodels, matplotlib, skl2onnx or the full MLflow; there `citymind bootstrap` registers what needs
no training and says what to install for the rest, an ONNX model trained elsewhere is registered, and `citymind
serve` answers health, classify and triage. Training there fails with the install hint.

Where a container engine runs, the serving install checked is the gateway image's (built by deploy/install.sh,
once for the end-to-end tests), each command a `podman run`; elsewhere, or with ``-m "not container"``,
deploy/install.sh makes a venv here."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e import _image
from tests.e2e.test_cli_serve import REPORT, gateway_port, wait_until_serving

pytestmark = [pytest.mark.install, pytest.mark.serve, pytest.mark.slow, pytest.mark.timeout(1800)]

TRAINING_ONLY = ("torch", "statsmodels", "matplotlib", "skl2onnx", "onnxscript")
HINT = "pip install 'citymind[train]'"


class InVenv:
    """A serving install that deploy/install.sh put in a venv here; `citymind serve` on loopback."""

    def __init__(self, venv: Path) -> None:
        self.venv = venv

    @staticmethod
    def environment(home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYMIND_", "RAY_ADDRESS"))}
        return env | {"CITYMIND_HOME": str(home / ".citymind"), "CITYMIND_KEYS_FILE": str(home / "keys.json")}

    def run(self, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        command, env = [str(self.venv / "bin" / args[0]), *args[1:]], self.environment(home)
        return subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=300)

    @contextlib.contextmanager
    def serve(self, home: Path) -> Iterator[str]:
        port, log = gateway_port(), home / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen([str(self.venv / "bin" / "citymind"), "serve", "--port", str(port)],
                                    env=self.environment(home), cwd=home, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
        try:
            url = wait_until_serving(proc, log)
            assert url == f"http://127.0.0.1:{port}"  # --port, over CITYMIND_PORT's default
            yield url
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class InImage:
    """The gateway image's serving install: each command a `podman run` of it as its user (uid 10001) on ``home``
    mounted at the same path; `citymind serve` is the image's own command, published on 127.0.0.1."""

    def __init__(self, image: str) -> None:
        self.image = image

    def options(self, home: Path) -> list[str]:
        home.chmod(0o777)  # the image's user writes its registry and keys there; what it writes stays its own
        return [*_image.HERE, "-v", f"{home}:{home}", "-w", str(home), "-e", f"CITYMIND_HOME={home / '.citymind'}",
                "-e", f"CITYMIND_KEYS_FILE={home / 'keys.json'}"]  # fmt: skip

    def run(self, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        entry = ["--entrypoint", args[0]] if args[0] != "citymind" else []
        return _image.podman("run", "--rm", *self.options(home), *entry, self.image, *args[1:], timeout=300)

    @contextlib.contextmanager
    def serve(self, home: Path) -> Iterator[str]:
        name, port = f"citymind-install-{uuid.uuid4().hex[:8]}", gateway_port()
        started = _image.podman("run", "-d", "--name", name, "--shm-size", "512m", "-p", f"127.0.0.1:{port}:8000",
                                *self.options(home), self.image)  # fmt: skip
        assert started.returncode == 0, started.stderr
        try:
            _image.wait_ready(f"http://127.0.0.1:{port}", name)
            yield f"http://127.0.0.1:{port}"
            _image.stop_cleanly(name)
        finally:
            _image.podman("rm", "-f", "-t", "5", name)


def with_container(request: pytest.FixtureRequest) -> bool:
    """Whether ``-m`` keeps this file's tests once they use the image (marked ``container`` too): with ``-m "not
    container"`` the serving install is a venv here, even where podman runs."""
    from _pytest.mark.expression import Expression

    expression = request.config.getoption("markexpr")
    names = {mark.name for mark in request.node.iter_markers()} | {"container"}
    return not expression or Expression.compile(expression).evaluate(lambda name, **kwargs: name in names)


@pytest.fixture(scope="module")
def serving_install(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> InVenv | InImage:
    if with_container(request) and (_image.missing() is None or _image.REQUIRED):
        return InImage(request.getfixturevalue("gateway_image"))
    venv = tmp_path_factory.mktemp("serving-install") / "venv"
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(REPO / "deploy" / "install.sh"), str(venv)], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    size = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True).stdout.split()[0]
    print(f"\nserving install: {time.monotonic() - started:.0f} s, {size} MB")  # shown with -s
    assert done.stdout.strip().endswith("citymind 0.1.0")  # the script's last step: `citymind --version`
    return InVenv(venv)


@pytest.fixture(scope="module")
def onnx_classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An event classifier trained and exported here (this venv has the train extra), and what it says to REPORT."""
    import numpy as np
    import onnx

    from models.onnx_session import OnnxTextClassifier
    from models.text.event_classifier import EventClassifier
    from training.text.data import load_labelled_texts
    from training.text.sample_corpus import generate_sample_reports

    tmp = tmp_path_factory.mktemp("onnx-classifier")
    data = load_labelled_texts(generate_sample_reports(tmp / "reports.csv"), ["text"], "category")
    path = tmp / "event-classifier.onnx"
    onnx.save(EventClassifier().fit(data.texts, data.labels).to_onnx(), str(path))
    model = OnnxTextClassifier.from_path(path)
    return path, model.classes[int(np.argmax(model.predict_proba([REPORT])[0]))]


def test_a_serving_install_has_no_training_packages(serving_install: InVenv | InImage, tmp_path: Path) -> None:
    probe = "import importlib.util as u, importlib.metadata as m, json; names = " + repr(TRAINING_ONLY)
    probe += "; print(json.dumps([n for n in names if u.find_spec(n)] + [d.name for d in m.distributions()"
    probe += " if d.name.lower() == 'mlflow']))"
    done = serving_install.run(tmp_path, "python", "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    version = serving_install.run(tmp_path, "citymind", "--version")
    assert version.stdout.strip() == "citymind 0.1.0", version.stdout + version.stderr


def test_a_serving_install_registers_an_onnx_model_and_serves_it(
    serving_install: InVenv | InImage, onnx_classifier: tuple[Path, str], tmp_path: Path
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return serving_install.run(tmp_path, "citymind", *args)

    first = run("bootstrap")
    assert first.returncode == 2 and HINT in first.stderr, first.stderr[-3000:]
    assert "registered  rule       pingdu-rules/1 @production" in first.stdout
    assert "registered  knowledge  pingdu-knowledge/1 @production" in first.stdout
    assert "waiting     model      event-classifier@champion" in first.stdout

    trained_elsewhere, expected = onnx_classifier
    path = tmp_path / trained_elsewhere.name  # where the install can read it (mounted into the image)
    path.write_bytes(trained_elsewhere.read_bytes())
    registered = run("registry", "register", "--kind", "model", "--name", "event-classifier", "--file", str(path),
                     "--alias", "champion", "--json")  # fmt: skip
    assert registered.returncode == 0, registered.stderr[-3000:]
    again = run("bootstrap")  # the pipeline over the classifier now registers; the sample forecaster still waits
    assert "registered  component  report-intake/1 @production" in again.stdout, again.stdout
    assert again.returncode == 2 and "not registered: pm25-forecaster" in again.stderr

    trained = run("train", "event-classifier", "--data", str(path))
    assert trained.returncode == 2 and HINT in trained.stderr and "skl2onnx" in trained.stderr, trained.stderr

    created = run("keys", "create", "--name", "install-test", "--role", "admin")
    assert created.returncode == 0, created.stderr
    key = {"x-api-key": created.stdout.strip().splitlines()[-1]}
    with serving_install.serve(tmp_path) as url:
        assert httpx.get(f"{url}/v2/health/ready", timeout=10).status_code == 200
        body = httpx.post(f"{url}/v1/events/classify", json={"text": REPORT}, headers=key, timeout=30).json()
        assert (body["model"], body["version"], body["category"]) == ("event-classifier", 1, expected), body
        triaged = httpx.post(f"{url}/v1/events/triage", json={"report": {"text": REPORT}}, headers=key, timeout=60)
        assert triaged.status_code == 200 and triaged.json()["category"] == expected, triaged.text[:2000]
