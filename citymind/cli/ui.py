"""``citymind ui``: MLflow's own UI on the store citymind uses: training runs with their metrics and plots, and
the model versions made from them."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Annotated

import typer

from citymind.settings import Settings, get_settings


def ui(
    host: Annotated[str, typer.Option(help="bind address; the UI has no login, keep it on loopback")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 5000,
) -> None:
    """Open MLflow's UI (mlflow server) on citymind's registry: training runs, metrics, plots, versions."""
    settings = get_settings()
    if settings.resolved_tracking_uri.startswith(("http://", "https://")):
        typer.echo(f"the registry is the MLflow server at {settings.resolved_tracking_uri}: its UI is there.")
        return
    if settings.embedded:
        settings.resolved_home.mkdir(parents=True, exist_ok=True)
    if not _loopback(host):
        typer.secho(
            f"warning: the MLflow UI has no login; anyone who reaches {host}:{port} can move aliases and delete "
            "versions. For a shared UI run an MLflow server with authentication (docs/deploy.md).",
            fg="yellow",
            err=True,
        )
    typer.echo(f"MLflow UI on http://{host}:{port}  (store {settings.resolved_tracking_uri}; Ctrl-C stops it)")
    sys.stdout.flush()
    env = dict(os.environ)
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # GenAI job workers (~8 processes): unused here
    # this process becomes MLflow's: Ctrl-C and SIGTERM reach it directly, nothing is left behind
    os.execve(sys.executable, mlflow_server_argv(settings, host, port), env)  # noqa: S606 (argv list, no shell)


def mlflow_server_argv(settings: Settings, host: str, port: int) -> list[str]:
    """The ``mlflow server`` command over citymind's store: one worker, artifacts read where citymind wrote them
    (not proxied: the runs' artifact URIs are the store's own)."""
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", settings.resolved_tracking_uri]
    argv += ["--host", host, "--port", str(port), "--workers", "1"]
    if settings.resolved_artifact_location:
        argv += ["--default-artifact-root", settings.resolved_artifact_location, "--no-serve-artifacts"]
    return argv


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
