"""The ``citymind`` command: registry, training, rules, knowledge and the gateway."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from citymind import cli_components, cli_kg, cli_registry, cli_rules, cli_train

app = typer.Typer(
    help="citymind: the algorithm and knowledge middle-platform of a city brain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_registry.app, name="registry")
app.add_typer(cli_train.app, name="train")
app.add_typer(cli_kg.app, name="kg")
app.add_typer(cli_rules.app, name="rules")
app.add_typer(cli_components.app, name="components")


@app.command()
def bootstrap(force: Annotated[bool, typer.Option(help="register defaults even if present")] = False) -> None:
    """Register the default Pingdu assets if the registry is empty."""
    from citymind.bootstrap import bootstrap as run_bootstrap

    for line in run_bootstrap(force=force):
        typer.echo(line)


@app.command()
def serve() -> None:
    """Start the gateway on Ray Serve (127.0.0.1:8000 by default) and serve until Ctrl-C."""
    from serving.launcher import serve_forever

    serve_forever()


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
    from registry import MlflowRegistry
    from serving.canary import SHADOW_TAG, WEIGHT_TAG

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
    from citymind.settings import get_settings

    s = get_settings()
    typer.echo(
        f"home          {s.resolved_home}\ntracking_uri  {s.resolved_tracking_uri}\n"
        f"gateway       http://{s.host}:{s.port}\nray_address   {s.ray_address or '(local)'}\n"
        f"shared_data   {s.shared_data}"
    )


def main() -> None:
    import logging
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from registry import CitymindError

    logging.getLogger("mlflow").setLevel(logging.WARNING)

    try:
        app()
    except CitymindError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
