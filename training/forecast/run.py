"""The MLflow run of a forecaster's training: parameters, metrics (MAE by hours ahead as steps), ``evaluation.json``,
``forecast.png`` and the dataset with its digest."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from registry import MlflowRegistry
from training.forecast.evaluation import ForecastEvaluation
from training.forecast.parity import ForecastParity
from training.forecast.series_data import HourlySeries
from training.mlflow_run import log_dataset, log_json, log_steps, log_values


def log_forecast_run(
    registry: MlflowRegistry,
    run_id: str,
    series: HourlySeries,
    params: Mapping[str, Any],
    evaluation: ForecastEvaluation,
    parity: ForecastParity,
    plot: Path,
) -> None:
    client = registry.client
    logged = {
        **{k: json.dumps(v) if isinstance(v, list | tuple) else str(v) for k, v in params.items()},
        "target": series.target,
        "stride": str(evaluation.stride),
        "test_fraction": str(evaluation.test_fraction),
        "statsmodels": str(evaluation.settings.get("statsmodels")),
        "dataset_digest": series.digest,
        "dataset_source": series.source,
        "hours": str(len(series.frame)),
        "hours_inserted": str(series.inserted),
        "hours_missing": str(series.missing),
    }
    metrics = {**evaluation.metrics(), "onnx_parity_max_rel_diff": parity.max_rel_diff}
    log_values(client, run_id, logged, metrics)
    log_steps(client, run_id, {f"mae_by_horizon/{m}": e for m, e in evaluation.per_horizon_mae.items()}, first=1)
    profile = {"hours": len(series.frame), "missing": series.missing, "inserted": series.inserted}
    log_dataset(client, run_id, series.source, series.digest, profile)
    log_json(client, run_id, "evaluation.json", asdict(evaluation))
    client.log_artifact(run_id, str(plot))


def log_comparison(
    registry: MlflowRegistry, run_id: str, chosen: str, table: list[dict[str, Any]], chart: Path
) -> None:
    """``--algorithm auto``'s comparison in the run: a table (``algorithm_comparison.json``, shown as a table by
    the MLflow UI), its chart, one ``compare/<method>/mase`` metric per row and the chosen family as a param."""
    client = registry.client
    columns = sorted(
        {key for row in table for key in row}, key=lambda k: list(table[0]).index(k) if k in table[0] else 99
    )
    client.log_table(run_id, {c: [row.get(c) for row in table] for c in columns}, "algorithm_comparison.json")
    client.log_artifact(run_id, str(chart))
    metrics = {f"compare/{row['method']}/mase": float(row["mase"]) for row in table}
    log_values(
        client,
        run_id,
        {"algorithm": chosen, "algorithms_compared": str(sum(r["kind"] == "family" for r in table))},
        metrics,
    )
