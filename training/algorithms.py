"""Algorithm cards (算法库): each algorithm is registered once as kind ``algorithm`` with its defaults and docs,
and names the model family that implements it."""

from __future__ import annotations

from typing import Any

from models.base import CityModel
from models.forecast.anomaly import ResidualAnomalyDetector
from models.forecast.boosted import BlendedForecaster, BoostedForecaster
from models.forecast.forecaster import HourlyForecaster
from models.forecast.seasonal_naive import SeasonalNaive
from models.text.event_classifier import EventClassifier
from models.text.short_text import ShortTextClassifier
from models.text.static_e5 import StaticE5ShortTextClassifier
from registry import AssetNotFound, AssetVersion, MlflowRegistry, ValidationError

FAMILIES: dict[str, type[CityModel]] = {
    "char-ngram-linear": EventClassifier,
    "nbsvm-short-text": ShortTextClassifier,
    "nbsvm-static-e5": StaticE5ShortTextClassifier,
}

#: Forecasting of hourly indicators (趋势预测): the forecaster, its baseline and the anomaly check on its residuals.
FORECAST_FAMILIES: dict[str, type[CityModel]] = {
    "ridge-direct-forecast": HourlyForecaster,
    "lightgbm-direct-forecast": BoostedForecaster,
    "lightgbm-ridge-blend": BlendedForecaster,
    "seasonal-naive": SeasonalNaive,
    "residual-anomaly": ResidualAnomalyDetector,
}

#: the forecasting families ``--algorithm auto`` evaluates on the same rolling origins (the best is registered)
FORECASTERS = ("ridge-direct-forecast", "lightgbm-direct-forecast", "lightgbm-ridge-blend")

DOCS = {
    "char-ngram-linear": (
        "Character n-gram TF-IDF + logistic regression for Chinese reports of any length (title + body). Text is "
        "cleaned (NFKC, whitespace collapsed) in Python; the skl2onnx graph computes TF-IDF and the linear model."
    ),
    "nbsvm-short-text": (
        "NB-SVM (naive-Bayes-scaled linear SVMs) over binary character 1–2-gram, rjieba word and prefix/suffix "
        "tokens, for short texts such as titles. Tokens are made in Python; the ONNX graph counts them and applies "
        "one linear layer and a softmax."
    ),
    "nbsvm-static-e5": (
        "NB-SVM of nbsvm-short-text plus e5's pretrained knowledge: each text's static e5 vector (mean of its CJK "
        "pieces' vectors, each piece run once through the int8 e5 graph and cached) as extra SVM columns. Folded "
        "into one linear layer over the tokens and the normalised e5 piece counts: no transformer pass per text."
    ),
    "ridge-direct-forecast": (
        "Direct multi-horizon ridge regression for hourly city indicators: log values relative to the last day's "
        "level, lags of the last two days and a week ago, the week's daily profile, hour-of-week and weather at the "
        "origin; split-conformal intervals per horizon. The ONNX graph computes the features from raw history."
    ),
    "lightgbm-direct-forecast": (
        "Direct multi-horizon LightGBM for hourly city indicators: one booster per hour ahead on the ridge family's "
        "features (log values relative to the last day's level, lags, the week's profile, hour and weekday, weather "
        "at the origin); split-conformal intervals per horizon. The ONNX graph computes the features and runs the "
        "24 boosters as one TreeEnsembleRegressor node (double thresholds)."
    ),
    "lightgbm-ridge-blend": (
        "Blend of the LightGBM and ridge direct forecasters: their forecasts averaged in log space with the ridge's "
        "weight chosen on held-out origins; split-conformal intervals on the blend's residuals. One ONNX graph."
    ),
    "seasonal-naive": (
        "Seasonal-naive baseline: the value of the same hour yesterday (season 24) or last week (season 168). "
        "Every forecaster is measured against it (MASE)."
    ),
    "residual-anomaly": (
        "Anomaly detection on forecast residuals: robust z-score (median and MAD per horizon of out-of-sample "
        "residuals) above a threshold marks an hour whose reading the forecaster did not expect."
    ),
}


def forecaster_family(algorithm: str) -> type[HourlyForecaster]:
    """The class of a forecasting family ``--algorithm auto`` chooses from (each one an ``HourlyForecaster``)."""
    if algorithm not in FORECASTERS:
        raise ValidationError(f"The algorithm must be one of {['auto', *FORECASTERS]}. Got {algorithm!r} instead.")
    cls = FORECAST_FAMILIES[algorithm]
    assert issubclass(cls, HourlyForecaster)
    return cls


def family(algorithm: str) -> type[CityModel]:
    if algorithm not in FAMILIES:
        raise ValidationError(f"The algorithm must be one of {sorted(FAMILIES)}. Got {algorithm!r} instead.")
    return FAMILIES[algorithm]


def algorithm_card(algorithm: str) -> dict[str, Any]:
    cls = FORECAST_FAMILIES[algorithm] if algorithm in FORECAST_FAMILIES else family(algorithm)
    return {
        "title": DOCS[algorithm].split(".")[0],
        "family": f"{cls.__module__}.{cls.__name__}",
        "task": cls.tags.task,
        "defaults": cls().get_params(),
        "onnx_exportable": cls.tags.onnx_exportable,
        "docs": DOCS[algorithm],
    }


def ensure_algorithm(registry: MlflowRegistry, name: str) -> AssetVersion:
    """The registered card of ``name`` (registered with alias ``production`` the first time)."""
    try:
        return registry.resolve(f"{name}@production")
    except AssetNotFound:
        card = algorithm_card(name)
        version = registry.register(
            "algorithm", name, card, description=card["title"], tags={"task": card["task"], "family": card["family"]}
        )
        return registry.set_alias(name, "production", version.version)
