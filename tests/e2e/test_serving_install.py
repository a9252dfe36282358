"""`pip install citymind` serves: deploy/install.sh (what the images run) puts a serving install in a fresh venv,
without torch, statsmodels, matplotlib, skl2onnx or the full MLflow; there `citymind bootstrap` registers what needs
no training and says what to install for the rest, an ONNX model trained elsewhere is registered, and `citymind
serve` answers health, classify and triage. Training there fails with the install hint."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_serve import REPORT, gateway_port, wait_until_serving

pytestmark = [pytest.mark.install, pytest.mark.serve, pytest.mark.slow]

TRAINING_ONLY = ("torch", "statsmodels", "matplotlib", "skl2onnx", "onnxscript")
HINT = "pip install 'citymind[train]'"


@pytest.fixture(scope="module")
def serving_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("serving-install") / "venv"
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(REPO / "deploy" / "install.sh"), str(venv)], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    size = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True).stdout.split()[0]
    print(f"\nserving install: {time.monotonic() - started:.0f} s, {size} MB")  # shown with -s
    assert done.stdout.strip().endswith("citymind 0.1.0")  # the script's last step: `citymind --version`
    return venv


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


def test_a_serving_install_has_no_training_packages(serving_venv: Path) -> None:
    probe = "import importlib.util as u, importlib.metadata as m, json; names = " + repr(TRAINING_ONLY)
    probe += "; print(json.dumps([n for n in names if u.find_spec(n)] + [d.name for d in m.distributions()"
    probe += " if d.name.lower() == 'mlflow']))"
    done = subprocess.run([str(serving_venv / "bin" / "python"), "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_serving_install_registers_an_onnx_model_and_serves_it(
    serving_venv: Path, onnx_classifier: tuple[Path, str], tmp_path: Path
) -> None:
    cli = str(serving_venv / "bin" / "citymind")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYMIND_", "RAY_ADDRESS"))}
    env["CITYMIND_HOME"] = str(tmp_path / ".citymind")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    first = run("bootstrap")
    assert first.returncode == 2 and HINT in first.stderr, first.stderr[-3000:]
    assert "registered  rule       pingdu-rules/1 @production" in first.stdout
    assert "registered  knowledge  pingdu-knowledge/1 @production" in first.stdout
    assert "waiting     model      event-classifier@champion" in first.stdout

    path, expected = onnx_classifier
    registered = run("registry", "register", "--kind", "model", "--name", "event-classifier", "--file", str(path),
                     "--alias", "champion", "--json")  # fmt: skip
    assert registered.returncode == 0, registered.stderr[-3000:]
    again = run("bootstrap")  # the pipeline over the classifier now registers; the sample forecaster still waits
    assert "registered  component  report-intake/1 @production" in again.stdout, again.stdout
    assert again.returncode == 2 and "not registered: pm25-forecaster" in again.stderr

    trained = run("train", "event-classifier", "--data", str(path))
    assert trained.returncode == 2 and HINT in trained.stderr and "skl2onnx" in trained.stderr, trained.stderr

    port = gateway_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        url = wait_until_serving(proc, log)
        assert url == f"http://127.0.0.1:{port}"  # --port, over CITYMIND_PORT's default
        assert httpx.get(f"{url}/v2/health/ready", timeout=10).status_code == 200
        body = httpx.post(f"{url}/v1/events/classify", json={"text": REPORT}, timeout=30).json()
        assert (body["model"], body["version"], body["category"]) == ("event-classifier", 1, expected), body
        triaged = httpx.post(f"{url}/v1/events/triage", json={"report": {"text": REPORT}}, timeout=60)
        assert triaged.status_code == 200 and triaged.json()["category"] == expected, triaged.text[:2000]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert shutil.which("citymind", path=str(serving_venv / "bin"))
