"""``citymind train ...``: train a model family on a table, log it to MLflow and register it."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind import extras
from citymind.cli.events import open_records
from events.canary import WEIGHT_TAG
from events.learning import EventExamples, training_examples
from registry import MlflowRegistry, ValidationError
from training.algorithms import FORECASTERS, forecaster_family
from training.forecast.forecaster import AUTO, EvaluationPlan, train_forecaster
from training.forecast.lightgbm_baseline import UNTUNED_LIGHTGBM
from training.forecast.series_data import load_hourly_series
from training.forecast.statsmodels_baseline import SarimaxSettings
from training.text.data import LabelledTexts, load_labelled_texts
from training.text.event_classifier import train_event_classifier
from training.text.knowledge import DEFAULT_KNOWLEDGE, category_knowledge

app = typer.Typer(help="Train, evaluate, export to ONNX and register models.", no_args_is_help=True)


@app.callback()
def _needs_training_packages() -> None:
    """Train, evaluate, export to ONNX and register models (needs the train extra)."""
    extras.require("citymind train")


@app.command("event-classifier")
def event_classifier(
    data: Annotated[Path | None, typer.Option(help="CSV, TSV/TXT or XLSX with text and label columns")] = None,
    text_col: Annotated[list[str] | None, typer.Option(help="text column(s); several are joined (title, body)")] = None,
    label_col: Annotated[str, typer.Option(help="label column")] = "label",
    from_events: Annotated[
        bool,
        typer.Option("--from-events", help="train on the recorded events whose category was confirmed or corrected"),
    ] = False,
    since: Annotated[str | None, typer.Option(help="with --from-events: events from this ISO date on")] = None,
    with_file: Annotated[
        Path | None, typer.Option("--with", help="with --from-events: a labelled file added to the training part only")
    ] = None,
    holdout_share: Annotated[float, typer.Option(min=0.05, max=0.5, help="newest share held out")] = 0.2,
    canary_weight: Annotated[
        float | None, typer.Option("--canary", min=0.0, max=1.0, help="share of keys sent to a new challenger")
    ] = None,
    columns: Annotated[str | None, typer.Option(help="comma-separated names for a headerless file")] = None,
    label_names: Annotated[Path | None, typer.Option(help="file of label names, one per line, by label id")] = None,
    name: Annotated[str, typer.Option(help="registered model name")] = "event-classifier",
    algorithm: Annotated[
        str,
        typer.Option(
            help="auto (every family on the same folds, the best kept), char-ngram-linear (reports), "
            "nbsvm-short-text (titles) or nbsvm-static-e5 (titles, with e5's static piece vectors)"
        ),
    ] = "auto",
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
    params: Annotated[str | None, typer.Option(help='JSON overrides, e.g. {"C": 10}')] = None,
    promote: Annotated[bool, typer.Option(help="make it champion even if it does not win")] = False,
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            help="folds fitted at once in worker processes (0: one per core; 1: all in this process, least memory)",
        ),
    ] = 0,
    knowledge_ref: Annotated[
        str,
        typer.Option(
            "--knowledge",
            help="knowledge snapshot whose categories' labels the classifier learns from, when every label is a "
            "top category of one of its schemes ('': none)",
        ),
    ] = DEFAULT_KNOWLEDGE,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stratified k-fold evaluation, fit, ONNX export with parity check, registration, champion/challenger.

    With ``--from-events``: the recorded reports whose category was confirmed or corrected (one per 并单 group),
    the newest ``--holdout-share`` held out by time; champion and new model are compared on that slice."""

    def load(path: Path) -> Any:
        if not text_col:
            raise typer.BadParameter(f"--text-col names the text column(s) of {path}")
        split = columns.split(",") if columns else None
        return load_labelled_texts(path, text_col, label_col, columns=split, label_names=label_names)

    if from_events == (data is not None):
        raise typer.BadParameter("give either --data FILE or --from-events (with --with FILE to add a labelled file)")
    holdout, provenance = None, None
    if from_events:
        dataset, holdout, provenance = events_training_set(since, load(with_file) if with_file else None, holdout_share)
    else:
        assert data is not None
        dataset = load(data)
    registry = MlflowRegistry.from_settings()
    knowledge, knowledge_note = category_knowledge(registry, knowledge_ref, dataset.classes)
    with _progress(disabled=as_json) as step:
        result = train_event_classifier(
            dataset,
            holdout=holdout,
            provenance=provenance,
            registry=registry,
            name=name,
            folds=folds,
            params=json.loads(params) if params else None,
            promote=promote,
            progress=step,
            algorithm=algorithm,
            jobs=jobs,
            knowledge=knowledge,
        )
    used = result.knowledge.summary() if result.knowledge else None
    note = knowledge_note if knowledge is None else f"{result.version.tags.get('citymind.algorithm')} takes none"
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
        "algorithm": result.version.tags.get("citymind.algorithm", algorithm),
        **({"families": [score.row() for score in result.choice.scores]} if result.choice else {}),
        "promoted": result.promoted,
        "comparison": result.comparison,
        **({"holdout": {**result.holdout.metrics(), "note": result.holdout.note}} if result.holdout else {}),
        **({"lineage": provenance} if provenance else {}),
        "knowledge": used or {"used": False, "note": note},
    }
    if canary_weight is not None and not result.promoted:
        MlflowRegistry.from_settings().set_tag(name, WEIGHT_TAG, str(canary_weight))
        summary["canary_weight"] = canary_weight
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    if result.holdout is not None:
        typer.echo(f"newest {result.holdout.rows} rows held out: macro-F1 {result.holdout.macro_f1:.4f}")
    typer.echo(
        f"{name} v{summary['version']}  macro-F1 {summary['macro_f1']:.4f}  accuracy "
        f"{summary['accuracy']:.4f}  ({folds}-fold, {summary['rows']} rows, {summary['classes']} classes)"
    )
    if result.choice is not None:
        compared = ", ".join(f"{s.algorithm} {s.macro_f1:.4f}" for s in result.choice.scores)
        typer.echo(f"auto chose {result.choice.algorithm} ({compared})")
    if used:
        typer.echo(f"learned the catalogue's words: {used['categories']} categories, {used['terms']} terms "
                   f"from {used['knowledge']}")  # fmt: skip
    else:
        typer.echo(f"no catalogue words: {note}")
    for label, score in result.evaluation.per_class_f1.items():
        typer.echo(f"  F1 {score:.3f}  {label}")
    typer.echo(f"ONNX parity: max |Δprob| = {result.parity.max_abs_diff:.2e} on {result.parity.rows} rows")
    _echo_comparison(result, "macro_f1", "")


@app.command("forecaster")
def forecaster(
    data: Annotated[Path, typer.Option(help="CSV, TSV/TXT or XLSX with a time and a target column")],
    target: Annotated[str, typer.Option(help="the indicator to forecast, e.g. pm2.5")],
    time: Annotated[str, typer.Option(help="time column(s): one datetime, year,month,day,hour, or date,hour")],
    freq: Annotated[str, typer.Option(help="series frequency (hourly: H)")] = "H",
    horizon: Annotated[int, typer.Option(min=1, max=168, help="hours ahead")] = 24,
    exog: Annotated[list[str] | None, typer.Option(help="weather column(s) read at the forecast origin")] = None,
    region: Annotated[
        str, typer.Option(help="where the series was measured, for its public holidays: CN, US-DC, ... ('': none)")
    ] = "",
    name: Annotated[str | None, typer.Option(help="registered model name (default: {target}-forecaster)")] = None,
    stride: Annotated[int, typer.Option(min=1, help="hours between evaluation origins")] = 25,
    statsmodels: Annotated[bool, typer.Option(help="compare with statsmodels SARIMAX (bounded in time)")] = True,
    params: Annotated[str | None, typer.Option(help='JSON overrides, e.g. {"alpha": 3}')] = None,
    algorithm: Annotated[
        str, typer.Option(help=f"auto (every family on the same origins, the best registered) or one of {FORECASTERS}")
    ] = AUTO,
    afternoon_baseline: Annotated[
        bool, typer.Option(help="also score untuned LightGBM (24 default models, lags + calendar) on the same origins")
    ] = False,
    refit_every: Annotated[int, typer.Option(min=1, help="hours between refits in the evaluation")] = 24 * 30,
    promote: Annotated[bool, typer.Option(help="make it champion even if it does not win")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Rolling-origin evaluation on the last 20% (MASE, sMAPE vs seasonal naive and SARIMAX, interval
    coverage, forecast plot), fit, ONNX export with parity check, registration, champion/challenger."""

    times = [c.strip() for c in time.split(",")]
    series = load_hourly_series(data, target, times, freq=freq, exog=exog or (), region=region)
    name = name or re.sub(r"[^a-z0-9]+", "", target.lower()) + "-forecaster"  # pm2.5 → pm25-forecaster
    if algorithm != AUTO:
        forecaster_family(algorithm)  # an unknown name fails before the data is read twice
    plan = EvaluationPlan(
        horizon=horizon,
        stride=stride,
        refit_every_hours=refit_every,
        statsmodels=SarimaxSettings() if statsmodels else None,
        baselines=(UNTUNED_LIGHTGBM,) if afternoon_baseline else (),
    )
    with _progress(disabled=as_json) as step:
        result = train_forecaster(
            series,
            registry=MlflowRegistry.from_settings(),
            name=name,
            algorithm=algorithm,
            params=json.loads(params) if params else None,
            plan=plan,
            promote=promote,
            progress=step,
        )
    summary = _forecast_summary(name, series, result)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    methods = result.evaluation.methods
    for row in result.families:
        if row["kind"] == "family":
            mark = "→" if row["chosen"] else " "
            typer.echo(f"{mark} {row['method']:<26} MASE {row['mase']:.4f}  coverage {row['coverage']:.3f}")
    typer.echo(
        f"{name} v{summary['version']}  {result.algorithm}  {target}, {horizon} h ahead, {summary['origins']} origins "
        f"from {summary['test_start']} ({summary['hours']} hours, {series.missing} missing)"
    )
    for method, scores in methods.items():
        typer.echo(f"  {method:<22} MASE {scores['mase']:.4f}  sMAPE {scores['smape']:6.2f}  MAE {scores['mae']:.3f}")
    for key, value in result.evaluation.ratios().items():
        typer.echo(f"  {key} = {value:.3f}")
    typer.echo(f"{result.evaluation.interval:.0%} interval coverage {result.evaluation.coverage:.3f}")
    typer.echo(f"ONNX parity: max relative difference {result.parity.max_rel_diff:.2e} on {result.parity.rows} rows")
    _echo_comparison(result, "mase", "MASE ")


def events_training_set(
    since: str | None, extra: LabelledTexts | None, share: float = 0.2
) -> tuple[LabelledTexts, LabelledTexts, dict[str, str]]:
    """``(training part, newest holdout, lineage)`` from the event records: the newest ``share`` by time is the
    holdout; ``extra`` (a labelled file) joins the training part only."""
    records = open_records()
    try:
        examples = training_examples(records, since=_epoch(since))
    finally:
        records.close()
    if len(examples) < 10:
        raise ValidationError(
            f"only {len(examples)} recorded reports have a confirmed or corrected category"
            f"{f' since {since}' if since else ''}; record outcomes (accepted, category_corrected ...) or use --data"
        )
    older, newest = examples.newest(share)
    train = _labelled(older, "train")
    if extra is not None:
        digest = hashlib.sha256(f"{older.digest}+{extra.digest}".encode()).hexdigest()[:16]
        train = LabelledTexts(train.texts + extra.texts, train.labels + extra.labels,
                              f"{train.source}+{extra.source}", f"sha256:{digest}")  # fmt: skip
    provenance = {
        "name": "events",
        "events_query": json.dumps(examples.query, ensure_ascii=False),
        "events_digest": examples.digest,
        "events_count": str(len(examples)),
        "events_since": since or "",
        "events_holdout_digest": newest.digest,
        "events_holdout_rows": str(len(newest)),
        "events_holdout_from": datetime.fromtimestamp(newest.times[0]).isoformat(timespec="seconds"),
        "with_file": extra.source if extra is not None else "",
    }
    return train, _labelled(newest, "newest"), provenance


def _labelled(examples: EventExamples, part: str) -> LabelledTexts:
    return LabelledTexts(examples.texts, examples.labels, f"{examples.query['store']}#events-{part}", examples.digest)


def _epoch(day: str | None) -> float | None:
    if day is None:
        return None
    try:
        return datetime.fromisoformat(day).timestamp()
    except ValueError:
        raise typer.BadParameter(f"--since must be an ISO date, e.g. 2026-01-01. Got {day!r} instead.") from None


def _echo_comparison(result: Any, metric: str, label: str) -> None:
    """The champion/challenger line: both scores on the same evaluation, and what happened."""
    cmp = result.comparison
    theirs = cmp.get(f"champion_{metric}")
    champion = "none" if cmp.get("champion") is None else f"v{cmp['champion']}"
    if theirs is not None:
        champion += f" {label}{theirs:.4f}"
    outcome = "promoted to champion" if result.promoted else "stays challenger"
    if not result.promoted and theirs is not None:
        outcome += " (not better than the champion)"
    typer.echo(f"champion: {champion} vs challenger {cmp[f'challenger_{metric}']:.4f} ({cmp['how']}) → {outcome}")


def _forecast_summary(name: str, series: Any, result: Any) -> dict[str, Any]:
    evaluation = result.evaluation
    return {
        "name": name,
        "algorithm": result.algorithm,
        "families": result.families,
        "version": result.version.version,
        "aliases": list(result.version.aliases),
        "target": series.target,
        "hours": len(series.frame),
        "missing": series.missing,
        "origins": evaluation.origins,
        "points": evaluation.points,
        "test_start": evaluation.test_start,
        "methods": evaluation.methods,
        "ratios": evaluation.ratios(),
        "interval": evaluation.interval,
        "interval_coverage": evaluation.coverage,
        "residual_anomalies": evaluation.anomalies,
        "onnx_parity_max_rel_diff": result.parity.max_rel_diff,
        "run_id": result.run_id,
        "promoted": result.promoted,
        "comparison": result.comparison,
    }


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
