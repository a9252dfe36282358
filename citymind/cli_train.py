"""``citymind train ...``: train a model family on a table, log it to MLflow and register it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Train, evaluate, export to ONNX and register models.", no_args_is_help=True)


@app.command("event-classifier")
def event_classifier(
    data: Annotated[Path, typer.Option(help="CSV, TSV/TXT or XLSX with text and label columns")],
    text_col: Annotated[list[str], typer.Option(help="text column(s); several are joined (title, body)")],
    label_col: Annotated[str, typer.Option(help="label column")],
    columns: Annotated[str | None, typer.Option(help="comma-separated names for a headerless file")] = None,
    label_names: Annotated[Path | None, typer.Option(help="file of label names, one per line, by label id")] = None,
    name: Annotated[str, typer.Option(help="registered model name")] = "event-classifier",
    algorithm: Annotated[str, typer.Option(help="char-ngram-linear (reports) or nbsvm-short-text (titles)")] = (
        "char-ngram-linear"
    ),
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
    params: Annotated[str | None, typer.Option(help='JSON overrides, e.g. {"C": 10}')] = None,
    promote: Annotated[bool, typer.Option(help="make it champion even if it does not win")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stratified k-fold evaluation, fit, ONNX export with parity check, registration, champion/challenger."""
    from registry import MlflowRegistry
    from training.data import load_labelled_texts
    from training.event_classifier import train_event_classifier

    dataset = load_labelled_texts(
        data, text_col, label_col, columns=columns.split(",") if columns else None, label_names=label_names
    )
    with _progress(disabled=as_json) as step:
        result = train_event_classifier(
            dataset,
            registry=MlflowRegistry.from_settings(),
            name=name,
            folds=folds,
            params=json.loads(params) if params else None,
            promote=promote,
            progress=step,
            algorithm=algorithm,
        )
    summary = {
        "name": name,
        "version": result.version.version,
        "aliases": list(result.version.aliases),
        "rows": len(dataset.texts),
        "classes": len(dataset.classes),
        "accuracy": result.evaluation.accuracy,
        "macro_f1": result.evaluation.macro_f1,
        "per_class_f1": result.evaluation.per_class_f1,
        "onnx_parity_max_abs_diff": result.parity.max_abs_diff,
        "run_id": result.run_id,
        "promoted": result.promoted,
        "comparison": result.comparison,
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"{name} v{summary['version']}  macro-F1 {summary['macro_f1']:.4f}  accuracy "
        f"{summary['accuracy']:.4f}  ({folds}-fold, {summary['rows']} rows, {summary['classes']} classes)"
    )
    for label, score in result.evaluation.per_class_f1.items():
        typer.echo(f"  F1 {score:.3f}  {label}")
    typer.echo(f"ONNX parity: max |Δprob| = {result.parity.max_abs_diff:.2e} on {result.parity.rows} rows")
    cmp = result.comparison
    champion = "none" if cmp.get("champion") is None else f"v{cmp['champion']} {cmp.get('champion_macro_f1', '?')}"
    typer.echo(
        f"champion: {champion} vs challenger {cmp['challenger_macro_f1']:.4f} ({cmp['how']}) → "
        + ("promoted to champion" if result.promoted else "stays challenger")
    )


class _progress:
    """A rich progress bar fed by the pipeline's ``progress(label, done, total)`` callback."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled

    def __enter__(self) -> Any:
        from rich.progress import Progress

        self.bar = Progress(disable=self.disabled, transient=True)
        self.bar.start()
        self.tasks: dict[str, Any] = {}
        return self.step

    def step(self, label: str, done: int, total: int) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[label], completed=done)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
