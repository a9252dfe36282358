"""The gateway image, built once for the end-to-end tests (tests/e2e/conftest.py): podman, the Dockerfile's
`gateway` target over a base image from Debian's packages (.ci/install_container_engine.sh). Its serving install
is deploy/install.sh, so the image is also where tests/e2e/test_serving_install.py checks a serving install."""

from __future__ import annotations

import functools
import os
import subprocess
import time
from pathlib import Path

BASE = os.environ.get("CITYMIND_IMAGE_BASE", "localhost/citymind-base:bookworm")
IMAGE = "localhost/citymind-gateway:test"
# This VM lacks CAP_SYS_RESOURCE (podman's default rlimits, above the hard limits, cannot be set; lower ones can)
# and has hybrid cgroups, which crun refuses: runc. Elsewhere a plain `docker/podman build` and `run` do.
HERE = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
REQUIRED = os.environ.get("CITYMIND_REQUIRE_CONTAINER") == "1"


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)


@functools.cache
def missing() -> str | None:
    """Why no image can be built here (None: podman and the base image are there); asked once per process."""
    if subprocess.run(["sh", "-c", "command -v podman"], capture_output=True).returncode != 0:
        return "podman is not installed (.ci/install_container_engine.sh installs it)"
    if podman("image", "exists", BASE).returncode != 0:
        return f"no base image {BASE} (deploy/base_image.sh builds one from Debian's packages)"
    return None


def build(repo: Path) -> str:
    cert = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    secret = ["--secret", f"id=pip-ca,src={cert}"] if cert.is_file() else []  # a TLS-inspecting proxy's CA
    started = time.monotonic()
    built = podman("build", "--format", "docker", "--layers=false", *HERE, "--build-arg", f"BASE={BASE}", *secret,
                   "--target", "gateway", "-t", IMAGE, str(repo), timeout=1500)  # fmt: skip
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    print(f"\nimage {IMAGE}: built in {time.monotonic() - started:.0f} s, {size / 1e6:.0f} MB")  # shown with -s
    return IMAGE


def wait_ready(url: str, name: str, timeout: float = 240) -> None:
    """Until the container's gateway answers `/v2/health/ready` from outside; fails as soon as it stops running."""
    import httpx

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


def stop_cleanly(name: str) -> None:
    """SIGTERM (`podman stop`), then the gateway's exit status 0 and its last words."""
    stopped = podman("stop", "-t", "60", name, timeout=90)
    assert stopped.returncode == 0, stopped.stderr
    logs = podman("logs", name)
    status = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert (status, "gateway stopped" in logs.stdout) == ("0", True), (logs.stdout + logs.stderr)[-3000:]
