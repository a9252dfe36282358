"""The ``citymind`` command: registry, training, rules, knowledge and the gateway."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from citymind.access import require
from citymind.cli import ui as cli_ui
from citymind.settings import get_settings
from registry import CitymindError, MlflowRegistry

#: command groups by the module that defines them, imported when named: ``citymind rules validate`` loads the rules
#: commands alone, not the event store's, the graph's or training's libraries
GROUPS = {
    "registry": "citymind.cli.registry",
    "train": "citymind.cli.train",
    "kg": "citymind.cli.kg",
    "rules": "citymind.cli.rules",
    "components": "citymind.cli.components",
    "keys": "citymind.cli.keys",
    "events": "citymind.cli.events",
}


class _Commands(TyperGroup):
    """The top-level group: its own commands, then ``GROUPS`` in order, each built on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in GROUPS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> Any:
        if cmd_name in GROUPS and cmd_name not in self.commands:
            group = typer.main.get_command(importlib.import_module(GROUPS[cmd_name]).app)
            group.name = cmd_name
            self.add_command(group, cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_Commands,
    help="citymind: the algorithm and knowledge middle-platform of a city brain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("ui")(cli_ui.ui)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"citymind {version('citymind')}")
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """citymind: the algorithm and knowledge middle-platform of a city brain."""


@app.command()
def bootstrap(force: Annotated[bool, typer.Option(help="register defaults even if present")] = False) -> None:
    """Register the default Pingdu assets if the registry is empty."""
    from citymind.cli.bootstrap import bootstrap as run_bootstrap

    for line in run_bootstrap(force=force):
        typer.echo(line)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="bind address (CITYMIND_HOST, default 127.0.0.1); beyond it keys are required")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65435, help="first gateway port (CITYMIND_PORT, default 8000); Serve's proxy: +100"),
    ] = None,
) -> None:
    """Start the gateway on Ray Serve (127.0.0.1:8000 by default) and serve until Ctrl-C."""
    from serving.launcher import serve_forever

    settings = get_settings()
    given = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    serve_forever(settings.model_copy(update=given) if given else settings)


@app.command()
def canary(
    model: str,
    weight: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="share of request keys sent to @challenger")
    ] = None,
    shadow: Annotated[
        bool | None, typer.Option("--shadow/--no-shadow", help="run @challenger beside @champion")
    ] = None,
) -> None:
    """Set a model's champion/challenger split; gateways follow within seconds (no restart)."""
    from events.canary import SHADOW_TAG, WEIGHT_TAG

    reg = MlflowRegistry.from_settings()
    if weight is not None:
        reg.set_tag(model, WEIGHT_TAG, str(weight))
    if shadow is not None:
        reg.set_tag(model, SHADOW_TAG, str(shadow).lower())
    tags = reg.get(model).tags
    typer.echo(f"{model}: challenger weight {tags.get(WEIGHT_TAG, '0')}, shadow {tags.get(SHADOW_TAG, 'false')}")


@app.command()
def info() -> None:
    """Print the effective settings."""

    s = get_settings()
    typer.echo(
        f"home          {s.resolved_home}\ntracking_uri  {s.resolved_tracking_uri}\n"
        f"gateway       http://{s.host}:{s.port}\nray_address   {s.ray_address or '(local)'}\n"
        f"shared_data   {s.shared_data}"
    )


#: commands that change the registry or the keys, and what the key's role must allow (``{kind}``: the asset's)
GUARDED = {
    ("registry", "register"): "register:{kind}",
    ("registry", "alias"): "register:{kind}",
    ("registry", "rollback"): "register:{kind}",
    ("rules", "register"): "register:rule",
    ("rules", "rollback"): "register:rule",
    ("rules", "backtest"): "backtest",
    ("components", "register"): "register:component",
    ("kg", "register"): "register:knowledge",
    ("kg", "index"): "register:knowledge",
    ("train", None): "register:model",
    ("canary", None): "register:model",
    ("bootstrap", None): "admin",
    ("ui", None): "admin",  # the MLflow UI can move any alias and delete any version
    ("keys", "create"): "admin",
    ("keys", "revoke"): "admin",
}


def guard(argv: list[str]) -> None:
    """Once API keys exist, a registry-changing command needs ``CITYMIND_API_KEY`` with a role that may do it."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or "--help" in argv:
        return
    action = GUARDED.get((words[0], words[1] if len(words) > 1 else None)) or GUARDED.get((words[0], None))
    if action is None:
        return

    if "{kind}" in action:
        action = action.format(kind=_kind_of(argv, words))
    require(action)


def _kind_of(argv: list[str], words: list[str]) -> str:
    """The kind the command will act on: the last ``--kind`` given, as the parser reads it (``--kind x`` or
    ``--kind=x``), else the asset's own."""
    kind = None
    for i, arg in enumerate(argv):
        if arg == "--kind" and i + 1 < len(argv):
            kind = argv[i + 1]
        elif arg.startswith("--kind="):
            kind = arg.split("=", 1)[1]
    if kind is not None:
        return kind
    return str(MlflowRegistry.from_settings().get(words[2]).kind) if len(words) > 2 else "model"


def main() -> None:
    import logging
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per registry read: noise here
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    try:
        guard(sys.argv[1:])
        app()
    except CitymindError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
