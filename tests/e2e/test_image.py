"""The gateway image, built and run as an operator would: `podman build` of the Dockerfile (its serving install is
deploy/install.sh), the container on a registry bootstrapped outside it, `/v2/health/ready` and a classify call from
outside the container, API keys required, a non-root user, no training packages, a clean stop on SIGTERM.

Needs podman and the base image (.ci/install_container_engine.sh); skipped with the reason where they are absent,
failed instead once CI installed them (CITYMIND_REQUIRE_CONTAINER=1). The image is built once for the end-to-end
tests (`gateway_image`, tests/e2e/conftest.py): tests/e2e/test_serving_install.py checks its serving install."""

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

from tests.conftest import free_port
from tests.e2e._image import HERE, podman, stop_cleanly, wait_ready
from tests.e2e.test_cli_serve import REPORT, citymind_cli, expected_category

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.timeout(1800)]


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
def container(gateway_image: str, registry_home: dict[str, str]) -> Iterator[dict[str, str]]:
    home, name, port = registry_home["CITYMIND_HOME"], f"citymind-test-{uuid.uuid4().hex[:8]}", free_port()
    run = podman("run", "-d", "--name", name, *HERE, "--shm-size", "512m", "-p", f"127.0.0.1:{port}:8000",
                 "-v", f"{home}:{home}",  # the same path inside: the registry's artifact URIs are absolute
                 "-v", f"{registry_home['CITYMIND_KEYS_FILE']}:/etc/citymind/keys.json:ro",
                 "-e", f"CITYMIND_TRACKING_URI=sqlite:///{home}/mlflow.db",
                 "-e", f"CITYMIND_ARTIFACT_LOCATION=file://{home}/artifacts", gateway_image)  # fmt: skip
    assert run.returncode == 0, run.stderr
    try:
        yield {"name": name, "url": f"http://127.0.0.1:{port}"}
    finally:
        podman("rm", "-f", "-t", "5", name)


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
    stop_cleanly(name)
