"""Train, evaluate, export, check and register a forecaster of an hourly city indicator: one MLflow run, one
model version, champion/challenger on MASE."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.forecast.anomaly import ResidualAnomalyDetector
from models.forecast.features import WINDOW
from models.forecast.forecaster import HourlyForecaster
from registry import AssetNotFound, AssetVersion, LineageRef, MlflowRegistry
from training.algorithms import ensure_algorithm
from training.forecast.evaluation import ForecastEvaluation, Forecasts, rolling_origin
from training.forecast.parity import ForecastParity, check_forecast_parity
from training.forecast.plot import plot_forecasts
from training.forecast.run import log_forecast_run
from training.forecast.series_data import HourlySeries
from training.forecast.statsmodels_baseline import SarimaxSettings
from training.mlflow_run import now_ms, training_run
from training.progress import Progress, one_step, silent

if TYPE_CHECKING:
    import pandas as pd
    from onnx import ModelProto

EXPERIMENT = "citymind-training"
ALGORITHM = "ridge-direct-forecast"
BASELINE_CARDS = ("seasonal-naive", "residual-anomaly")
PARAMS_TAG, EVAL_TAG, ANOMALY_TAG = "citymind.params", "citymind.evaluation", "citymind.anomaly"


@dataclass
class ForecasterResult:
    version: AssetVersion
    evaluation: ForecastEvaluation
    parity: ForecastParity
    run_id: str
    promoted: bool
    comparison: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationPlan:
    """How the rolling-origin evaluation runs (the same plan makes two versions comparable)."""

    horizon: int = 24
    stride: int = 25
    test_fraction: float = 0.2
    refit_every_hours: int = 24 * 30
    statsmodels: SarimaxSettings | None = field(default_factory=SarimaxSettings)

    def key(self, digest: str) -> dict[str, Any]:
        return {"digest": digest, "horizon": self.horizon, "stride": self.stride, "test_fraction": self.test_fraction}


def train_forecaster(
    series: HourlySeries,
    *,
    registry: MlflowRegistry,
    name: str = "forecaster",
    params: Mapping[str, Any] | None = None,
    plan: EvaluationPlan | None = None,
    promote: bool = False,
    progress: Progress | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> ForecasterResult:
    """Rolling-origin evaluation, fit on the whole series, ONNX export with parity, registration, promotion.
    ``progress(step, done, total)`` hears every step."""
    step, plan, started = progress or silent, plan or EvaluationPlan(), now_ms()
    model_params = {**HourlyForecaster().get_params(), **(params or {}), "horizon": plan.horizon}
    model_params["exog"] = tuple(series.exog)
    evaluation, forecasts, detector = _evaluate(series, model_params, plan, step)
    model = one_step(
        step, "fit on the whole series", lambda: HourlyForecaster(**model_params).fit(series.frame, _target(series))
    )
    onnx_model = one_step(step, "export ONNX", model.to_onnx)
    feed = model.feed(series.values, series.frame.index, _parity_origins(series), _exog(series))
    parity = one_step(step, "ONNX parity", lambda: check_forecast_parity(model, onnx_model, feed))
    with tempfile.TemporaryDirectory() as tmp:
        plot = plot_forecasts(evaluation, forecasts, series.frame.index, Path(tmp) / "forecast.png", name)
        trained = _Trained(model, onnx_model, model_params, evaluation, parity, detector.to_dict(), plot, started)
        version, run_id = one_step(
            step, "register", lambda: _register(registry, name, series, plan, trained, extra_tags)
        )
    comparison = compare_with_champion(registry, name, evaluation, series, plan, step)
    promoted = promote or comparison["challenger_wins"]
    if promoted:
        one_step(step, "promote to champion", lambda: registry.set_alias(name, "champion", version.version))
    return ForecasterResult(registry.version(name, version.version), evaluation, parity, run_id, promoted, comparison)


def _target(series: HourlySeries) -> pd.Series:
    return series.frame[series.target]


def _exog(series: HourlySeries) -> np.ndarray | None:
    return series.frame[list(series.exog)].to_numpy() if series.exog else None


def _evaluate(
    series: HourlySeries, params: dict[str, Any], plan: EvaluationPlan, step: Progress
) -> tuple[ForecastEvaluation, Forecasts, ResidualAnomalyDetector]:
    return rolling_origin(
        series,
        lambda: HourlyForecaster(**params),
        horizon=plan.horizon,
        stride=plan.stride,
        test_fraction=plan.test_fraction,
        refit_every_hours=plan.refit_every_hours,
        statsmodels=plan.statsmodels,
        progress=step,
    )


def _parity_origins(series: HourlySeries) -> np.ndarray:
    """Up to 300 origins spread over the series (each with a week of history)."""
    return np.unique(np.linspace(WINDOW - 1, len(series.values) - 1, num=300).astype(int))


@dataclass(frozen=True)
class _Trained:
    model: HourlyForecaster
    onnx_model: ModelProto
    params: dict[str, Any]
    evaluation: ForecastEvaluation
    parity: ForecastParity
    anomaly: dict[str, Any]
    plot: Path
    started: int  # when the training began (ms since the epoch): its MLflow run starts then


def _register(
    registry: MlflowRegistry,
    name: str,
    series: HourlySeries,
    plan: EvaluationPlan,
    trained: _Trained,
    extra_tags: Mapping[str, str] | None,
) -> tuple[AssetVersion, str]:
    cards = [ensure_algorithm(registry, card) for card in (ALGORITHM, *BASELINE_CARDS)]
    evaluation = trained.evaluation
    with training_run(registry, name, EXPERIMENT, trained.started) as run:
        run_id = run.info.run_id
        log_forecast_run(registry, run_id, series, trained.params, evaluation, trained.parity, trained.plot)
        lineage = [
            *(LineageRef("algorithm", card.name, str(card.version)) for card in cards),
            LineageRef("dataset", Path(series.source).name, None, {"digest": series.digest, "source": series.source}),
            LineageRef("run", run_id, None, {"experiment": EXPERIMENT}),
        ]
        version = registry.register(
            "model",
            name,
            trained.onnx_model,
            description=trained.onnx_model.doc_string,
            tags=_tags(trained, series, plan, extra_tags),
            lineage=lineage,
            signature=trained.model.signature().to_mlflow(),
            run_id=run_id,
        )
    registry.set_alias(name, "challenger", version.version)
    return version, run_id


def _tags(
    trained: _Trained, series: HourlySeries, plan: EvaluationPlan, extra: Mapping[str, str] | None
) -> dict[str, str]:
    evaluation = trained.evaluation
    ratios = evaluation.ratios()
    return {
        **HourlyForecaster.tags.to_mlflow_tags(),
        "citymind.algorithm": ALGORITHM,
        PARAMS_TAG: json.dumps(trained.params, ensure_ascii=False),
        EVAL_TAG: json.dumps(plan.key(series.digest)),
        ANOMALY_TAG: json.dumps(trained.anomaly),
        "target": series.target,
        "horizon": str(plan.horizon),
        "mase": f"{evaluation.methods['forecaster']['mase']:.4f}",
        "smape": f"{evaluation.methods['forecaster']['smape']:.4f}",
        "mase_ratio_vs_best_seasonal_naive": f"{ratios['mase_ratio_vs_best_seasonal_naive']:.4f}",
        "interval_coverage": f"{evaluation.coverage:.4f}",
        **(extra or {}),
    }


def compare_with_champion(
    registry: MlflowRegistry,
    name: str,
    evaluation: ForecastEvaluation,
    series: HourlySeries,
    plan: EvaluationPlan,
    progress: Progress = silent,
) -> dict[str, Any]:
    """The champion's MASE on the same evaluation: stored when it was measured on the same data and plan,
    otherwise re-measured by evaluating the champion's parameters here (without statsmodels). Lower wins."""
    mase = evaluation.methods["forecaster"]["mase"]
    try:
        champion = registry.resolve(f"{name}@champion")
    except AssetNotFound:
        return {"champion": None, "challenger_mase": mase, "challenger_wins": True, "how": "no champion yet"}
    if json.loads(champion.tags.get(EVAL_TAG, "{}")) == plan.key(series.digest):
        score, how = float(champion.tags["mase"]), "same data and evaluation (stored)"
    elif PARAMS_TAG in champion.tags:
        params = json.loads(champion.tags[PARAMS_TAG]) | {"exog": tuple(series.exog), "horizon": plan.horizon}
        quick = EvaluationPlan(plan.horizon, plan.stride, plan.test_fraction, plan.refit_every_hours, None)
        score = _evaluate(series, params, quick, progress)[0].methods["forecaster"]["mase"]
        how = "champion's parameters evaluated on these origins"
    else:
        how = "champion has no training parameters to compare on; use --promote to replace it"
        return {"champion": champion.version, "challenger_mase": mase, "challenger_wins": False, "how": how}
    return {
        "champion": champion.version,
        "champion_mase": score,
        "challenger_mase": mase,
        "challenger_wins": mase < score,
        "how": how,
    }
