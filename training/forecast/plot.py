"""The forecast plot a data scientist looks at first: the last two weeks of the evaluation with the forecasts
made along the way and their interval, and the error by horizon of every method."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.charts import comparison_bars
from training.forecast.evaluation import MODEL, NAIVE_DAY, ForecastEvaluation, Forecasts

if TYPE_CHECKING:
    import pandas as pd


def plot_forecasts(
    evaluation: ForecastEvaluation, forecasts: Forecasts, index: pd.DatetimeIndex, path: Path, title: str
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), gridspec_kw={"height_ratios": [3, 2]})
    horizon = evaluation.horizon
    last = forecasts.origins[-max(1, (14 * 24) // max(evaluation.stride, 1)) :]
    for n, origin in enumerate(last):
        row = len(forecasts.origins) - len(last) + n
        hours = index[origin + 1 : origin + 1 + horizon]
        top.plot(hours, forecasts.actual[row], color="black", linewidth=1, label="actual" if n == 0 else None)
        top.fill_between(
            hours,
            forecasts.lower[row],
            forecasts.upper[row],
            color="tab:blue",
            alpha=0.2,
            label=f"{evaluation.interval:.0%} interval" if n == 0 else None,
        )
        top.plot(hours, forecasts.by_method[MODEL][row], color="tab:blue", label="forecaster" if n == 0 else None)
        top.plot(
            hours,
            forecasts.by_method[NAIVE_DAY][row],
            color="tab:orange",
            linestyle=":",
            label="same hour yesterday" if n == 0 else None,
        )
    top.set_title(f"{title}: {horizon} h forecasts from origins every {evaluation.stride} h (last two weeks)")
    top.legend(loc="upper left", fontsize=8)
    steps = np.arange(1, horizon + 1)
    for method, errors in evaluation.per_horizon_mae.items():
        mase = evaluation.methods[method]["mase"]
        bottom.plot(steps, errors, marker=".", label=f"{method} (MASE {mase:.3f})")
    bottom.set_xlabel("hours ahead")
    bottom.set_ylabel("MAE")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_comparison(table: list[dict[str, Any]], path: Path, title: str) -> Path:
    """The families and baselines of one evaluation side by side: MASE bars, the chosen family highlighted and
    each family's interval coverage written on its bar."""
    colours = ["tab:green" if row["chosen"] else "tab:blue" if row["kind"] == "family" else "tab:gray" for row in table]
    notes = [f"{row['mase']:.3f}" + (f"  coverage {row['coverage']:.3f}" if "coverage" in row else "") for row in table]
    return comparison_bars(
        [row["method"] for row in table], [row["mase"] for row in table], notes, colours, path,
        xlabel="MASE (rolling origin, same origins; lower is better)",
        title=f"{title}: algorithms compared (green: registered)",
        xlim=(0, max(row["mase"] for row in table) * 1.45),
    )  # fmt: skip
