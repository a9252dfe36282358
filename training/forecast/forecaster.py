"""Train, evaluate, export, check and register a forecaster of an hourly city indicator: one MLflow run, one
model version, champion/challenger on MASE."""

from __future__ import annotations

import functools
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
from registry import AssetNotFound, AssetVersion, LineageRef, MlflowRegistry, ValidationError
from training.algorithms import FORECASTERS, ensure_algorithm, forecaster_family
from training.champion import REPLACES_SAMPLE, beats, is_sample
from training.forecast.evaluation import Baseline, ForecastEvaluation, Forecasts, compare_forecasters
from training.forecast.lightgbm_baseline import UNTUNED_LIGHTGBM, untuned_lightgbm_baseline
from training.forecast.parity import ForecastParity, check_forecast_parity
from training.forecast.plot import plot_comparison, plot_forecasts
from training.forecast.run import log_comparison, log_forecast_run
from training.forecast.series_data import HourlySeries
from training.forecast.statsmodels_baseline import SarimaxSettings
from training.mlflow_run import now_ms, training_run
from training.progress import Progress, one_step, silent

if TYPE_CHECKING:
    import pandas as pd
    from onnx import ModelProto

EXPERIMENT = "citymind-training"
AUTO = "auto"
BASELINE_CARDS = ("seasonal-naive", "residual-anomaly")
BASELINES: dict[str, Baseline] = {UNTUNED_LIGHTGBM: untuned_lightgbm_baseline}
PARAMS_TAG, EVAL_TAG, ANOMALY_TAG = "citymind.params", "citymind.evaluation", "citymind.anomaly"


@dataclass
class ForecasterResult:
    version: AssetVersion
    evaluation: ForecastEvaluation
    parity: ForecastParity
    run_id: str
    promoted: bool
    comparison: dict[str, Any] = field(default_factory=dict)
    algorithm: str = ""
    families: list[dict[str, Any]] = field(default_factory=list)  #: every family evaluated and the baselines


@dataclass(frozen=True)
class EvaluationPlan:
    """How the rolling-origin evaluation runs (the same plan makes two versions comparable)."""

    horizon: int = 24
    stride: int = 25
    test_fraction: float = 0.2
    refit_every_hours: int = 24 * 30
    statsmodels: SarimaxSettings | None = field(default_factory=SarimaxSettings)
    #: extra baselines on the same origins (``untuned_lightgbm``: issue 23's afternoon baseline)
    baselines: tuple[str, ...] = ()

    def key(self, digest: str) -> dict[str, Any]:
        return {"digest": digest, "horizon": self.horizon, "stride": self.stride, "test_fraction": self.test_fraction}


def train_forecaster(
    series: HourlySeries,
    *,
    registry: MlflowRegistry,
    name: str = "forecaster",
    algorithm: str = AUTO,
    params: Mapping[str, Any] | None = None,
    plan: EvaluationPlan | None = None,
    promote: bool = False,
    progress: Progress | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> ForecasterResult:
    """Rolling-origin evaluation of ``algorithm`` (``auto``: every family of ``FORECASTERS`` on the same origins,
    the lowest MASE wins), fit on the whole series, ONNX export with parity, registration, promotion.
    ``progress(step, done, total)`` hears every step."""
    step, plan, started = progress or silent, plan or EvaluationPlan(), now_ms()
    names = FORECASTERS if algorithm == AUTO else (algorithm,)
    candidates = {n: family_params(n, params, plan, series, strict=algorithm != AUTO) for n in names}
    results = _evaluate(series, candidates, plan, step)
    best = min(results, key=lambda n: results[n][0].methods["forecaster"]["mase"])
    evaluation, forecasts, detector = results[best]
    model_params = candidates[best]
    cls = forecaster_family(best)
    model = one_step(step, "fit on the whole series", lambda: cls(**model_params).fit(series.frame, _target(series)))
    onnx_model = one_step(step, "export ONNX", model.to_onnx)
    feed = model.feed(series.values, series.frame.index, _parity_origins(series), _exog(series))
    parity = one_step(step, "ONNX parity", lambda: check_forecast_parity(model, onnx_model, feed))
    table = comparison_table(results, best)
    with tempfile.TemporaryDirectory() as tmp:
        plot = plot_forecasts(evaluation, forecasts, series.frame.index, Path(tmp) / "forecast.png", name)
        chart = plot_comparison(table, Path(tmp) / "algorithm_comparison.png", name)
        trained = _Trained(
            best, model, onnx_model, model_params, evaluation, parity, detector.to_dict(), plot, started, table, chart
        )
        version, run_id = one_step(
            step, "register", lambda: _register(registry, name, series, plan, trained, extra_tags)
        )
    comparison = compare_with_champion(registry, name, evaluation, series, plan, step)
    promoted = promote or comparison["challenger_wins"]
    if promoted:
        one_step(step, "promote to champion", lambda: registry.set_alias(name, "champion", version.version))
    version = registry.version(name, version.version)
    return ForecasterResult(version, evaluation, parity, run_id, promoted, comparison, best, table)


def family_params(
    algorithm: str, params: Mapping[str, Any] | None, plan: EvaluationPlan, series: HourlySeries, strict: bool
) -> dict[str, Any]:
    """The family's defaults with the overrides it takes (``strict``: an override it does not take is an error;
    with ``auto`` each family takes the ones it knows), the plan's horizon, the series' weather columns and, for
    the families that read holidays, the series' region unless an override names one."""
    defaults = forecaster_family(algorithm)().get_params()
    unknown = sorted(set(params or {}) - set(defaults))
    if strict and unknown:
        raise ValidationError(f"{algorithm} has no parameter(s) {unknown}; it takes {sorted(defaults)}.")
    region = {"holidays": series.region} if "holidays" in defaults else {}
    known = {k: v for k, v in (params or {}).items() if k in defaults}
    return {**defaults, **region, **known, "horizon": plan.horizon, "exog": tuple(series.exog)}


def comparison_table(results: Mapping[str, tuple[ForecastEvaluation, Any, Any]], best: str) -> list[dict[str, Any]]:
    """One row per family evaluated (MASE, sMAPE, MAE, coverage, width, seconds), then one per baseline."""
    rows = []
    for family_name, (evaluation, _, _) in results.items():
        scores = evaluation.methods["forecaster"]
        rows.append(
            {
                "method": family_name,
                "kind": "family",
                "chosen": family_name == best,
                **{k: round(v, 4) for k, v in scores.items()},
                "coverage": round(evaluation.coverage, 4),
                "interval_width": round(evaluation.interval_width, 3),
                "seconds": evaluation.settings.get("seconds"),
            }
        )
    evaluation = results[best][0]
    for method, scores in evaluation.methods.items():
        if method != "forecaster":
            rows.append(
                {"method": method, "kind": "baseline", "chosen": False, **{k: round(v, 4) for k, v in scores.items()}}
            )
    return rows


def _target(series: HourlySeries) -> pd.Series:
    return series.frame[series.target]


def _exog(series: HourlySeries) -> np.ndarray | None:
    return series.frame[list(series.exog)].to_numpy() if series.exog else None


def _evaluate(
    series: HourlySeries, candidates: Mapping[str, dict[str, Any]], plan: EvaluationPlan, step: Progress
) -> dict[str, tuple[ForecastEvaluation, Forecasts, ResidualAnomalyDetector]]:
    makers = {n: functools.partial(forecaster_family(n), **p) for n, p in candidates.items()}
    return compare_forecasters(
        series,
        makers,
        horizon=plan.horizon,
        stride=plan.stride,
        test_fraction=plan.test_fraction,
        refit_every_hours=plan.refit_every_hours,
        statsmodels=plan.statsmodels,
        baselines={b: BASELINES[b] for b in plan.baselines},
        progress=step,
    )


def _parity_origins(series: HourlySeries) -> np.ndarray:
    """Up to 300 origins spread over the series (each with a week of history)."""
    return np.unique(np.linspace(WINDOW - 1, len(series.values) - 1, num=300).astype(int))


@dataclass(frozen=True)
class _Trained:
    algorithm: str
    model: HourlyForecaster
    onnx_model: ModelProto
    params: dict[str, Any]
    evaluation: ForecastEvaluation
    parity: ForecastParity
    anomaly: dict[str, Any]
    plot: Path
    started: int  # when the training began (ms since the epoch): its MLflow run starts then
    table: list[dict[str, Any]]
    chart: Path


def _register(
    registry: MlflowRegistry,
    name: str,
    series: HourlySeries,
    plan: EvaluationPlan,
    trained: _Trained,
    extra_tags: Mapping[str, str] | None,
) -> tuple[AssetVersion, str]:
    cards = [ensure_algorithm(registry, card) for card in (trained.algorithm, *BASELINE_CARDS)]
    evaluation = trained.evaluation
    with training_run(registry, name, EXPERIMENT, trained.started) as run:
        run_id = run.info.run_id
        log_forecast_run(registry, run_id, series, trained.params, evaluation, trained.parity, trained.plot)
        log_comparison(registry, run_id, trained.algorithm, trained.table, trained.chart)
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
        **trained.model.tags.to_mlflow_tags(),
        "citymind.algorithm": trained.algorithm,
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
    if is_sample(champion.tags):
        return {"champion": champion.version, "challenger_mase": mase, "challenger_wins": True, "how": REPLACES_SAMPLE}
    if json.loads(champion.tags.get(EVAL_TAG, "{}")) == plan.key(series.digest):
        score, how = float(champion.tags["mase"]), "same data and evaluation (stored)"
    elif PARAMS_TAG in champion.tags and champion.tags.get("citymind.algorithm") in FORECASTERS:
        algorithm = champion.tags["citymind.algorithm"]
        params = json.loads(champion.tags[PARAMS_TAG]) | {"exog": tuple(series.exog), "horizon": plan.horizon}
        quick = EvaluationPlan(plan.horizon, plan.stride, plan.test_fraction, plan.refit_every_hours, None)
        score = _evaluate(series, {algorithm: params}, quick, progress)[algorithm][0].methods["forecaster"]["mase"]
        how = f"champion's {algorithm} parameters evaluated on these origins"
    else:
        how = "champion has no training parameters to compare on; use --promote to replace it"
        return {"champion": champion.version, "challenger_mase": mase, "challenger_wins": False, "how": how}
    return {
        "champion": champion.version,
        "champion_mase": score,
        "challenger_mase": mase,
        "challenger_wins": beats(mase, score, lower_is_better=True),
        "how": how,
    }
