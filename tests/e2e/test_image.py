"""The gateway image, built and run as an operator would: `podman build` of the Dockerfile (its serving install is
deploy/install.sh), the container on a registry bootstrapped outside it, `/v2/health/ready` and a classify call from
outside the container, API keys required, a non-root user, no training packages, a clean stop on SIGTERM.

Needs podman and the base image (.ci/install_container_engine.sh); skipped with the reason where they are absent,
failed instead once CI installed them (CITYMIND_REQUIRE_CONTAINER=1)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port
from tests.e2e.test_cli_serve import REPORT, citymind_cli, expected_category

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.timeout(1800)]

BASE = os.environ.get("CITYMIND_IMAGE_BASE", "localhost/citymind-base:bookworm")
IMAGE = "localhost/citymind-gateway:test"
# This VM lacks CAP_SYS_RESOURCE (podman's default rlimits, above the hard limits, cannot be set; lower ones can)
# and has hybrid cgroups, which crun refuses: runc. Elsewhere a plain `docker/podman build` and `run` do.
HERE = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    reason = None
    if subprocess.run(["sh", "-c", "command -v podman"], capture_output=True).returncode != 0:
        reason = "podman is not installed (.ci/install_container_engine.sh installs it)"
    elif podman("image", "exists", BASE).returncode != 0:
        reason = f"no base image {BASE} (deploy/base_image.sh builds one from Debian's packages)"
    if reason:
        if os.environ.get("CITYMIND_REQUIRE_CONTAINER") == "1":
            pytest.fail(f"CITYMIND_REQUIRE_CONTAINER=1 but {reason}")
        pytest.skip(reason)
    cert = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    secret = ["--secret", f"id=pip-ca,src={cert}"] if cert.is_file() else []  # a TLS-inspecting proxy's CA
    started = time.monotonic()
    built = podman("build", "--format", "docker", "--layers=false", *HERE, "--build-arg", f"BASE={BASE}", *secret,
                   "--target", "gateway", "-t", IMAGE, str(REPO), timeout=1500)  # fmt: skip
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    print(f"\nimage {IMAGE}: built in {time.monotonic() - started:.0f} s, {size / 1e6:.0f} MB")  # shown with -s
    try:
        yield IMAGE
    finally:
        podman("rmi", "-f", IMAGE)  # 1.6 GB a build: nothing left behind on the machine


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The Pingdu defaults bootstrapped outside the container (a training job's work) and an admin key."""
    home = tmp_path_factory.mktemp("image-registry") / ".citymind"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYMIND_", "RAY_ADDRESS"))}
    env |= {"CITYMIND_HOME": str(home), "CITYMIND_KEYS_FILE": str(home.parent / "keys.json")}
    done = subprocess.run([*citymind_cli(), "bootstrap"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    created = subprocess.run([*citymind_cli(), "keys", "create", "--name", "image-test", "--role", "admin"],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert created.returncode == 0, created.stderr
    subprocess.run(["chmod", "-R", "a+rwX", str(home.parent)], check=True)  # the image's user is uid 10001
    return env | {"key": created.stdout.strip().splitlines()[-1]}


@pytest.fixture(scope="module")
def container(image: str, registry_home: dict[str, str]) -> Iterator[dict[str, str]]:
    home, name, port = registry_home["CITYMIND_HOME"], f"citymind-test-{uuid.uuid4().hex[:8]}", free_port()
    run = podman("run", "-d", "--name", name, *HERE, "--shm-size", "512m", "-p", f"127.0.0.1:{port}:8000",
                 "-v", f"{home}:{home}",  # the same path inside: the registry's artifact URIs are absolute
                 "-v", f"{registry_home['CITYMIND_KEYS_FILE']}:/etc/citymind/keys.json:ro",
                 "-e", f"CITYMIND_TRACKING_URI=sqlite:///{home}/mlflow.db",
                 "-e", f"CITYMIND_ARTIFACT_LOCATION=file://{home}/artifacts", image)  # fmt: skip
    assert run.returncode == 0, run.stderr
    try:
        yield {"name": name, "url": f"http://127.0.0.1:{port}"}
    finally:
        podman("rm", "-f", "-t", "5", name)


def wait_ready(url: str, name: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        assert state == "running", podman("logs", name).stdout[-3000:]
        time.sleep(2)
    raise AssertionError(f"not ready after {timeout} s: {podman('logs', name).stderr[-3000:]}")


def test_the_gateway_image_serves_with_keys_as_a_non_root_user(
    container: dict[str, str], registry_home: dict[str, str], tmp_path: Path
) -> None:
    url, name = container["url"], container["name"]
    started = time.monotonic()
    wait_ready(url, name)
    print(f"\ncontainer ready from outside after {time.monotonic() - started:.0f} s")
    expected = expected_category(registry_home, tmp_path / "cache")
    refused = httpx.post(f"{url}/v1/events/classify", json={"text": REPORT}, timeout=30)
    assert refused.status_code == 401  # 0.0.0.0 inside the container: keys are required
    key = {"authorization": f"Bearer {registry_home['key']}"}
    body = httpx.post(f"{url}/v1/events/classify", json={"text": REPORT}, headers=key, timeout=30).json()
    assert (body["model"], body["category"]) == ("event-classifier", expected), body
    assert podman("healthcheck", "run", name).returncode == 0  # the image's HEALTHCHECK, inside
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    probe = "import importlib.util as u, json; print(json.dumps([m for m in "
    probe += "('torch', 'statsmodels', 'matplotlib', 'skl2onnx') if u.find_spec(m)]))"
    assert json.loads(podman("exec", name, "python", "-c", probe).stdout) == []
    stopped = podman("stop", "-t", "60", name, timeout=90)
    assert stopped.returncode == 0, stopped.stderr
    logs = podman("logs", name)
    status = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert (status, "gateway stopped" in logs.stdout) == ("0", True), (logs.stdout + logs.stderr)[-3000:]
