"""The chart ``--algorithm auto`` logs to its run, for every task: one horizontal bar per method compared on the
same data, the registered one in green, a note written at the end of each bar."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def comparison_bars(
    names: Sequence[str],
    values: Sequence[float],
    notes: Sequence[str],
    colours: Sequence[str],
    path: Path,
    *,
    xlabel: str,
    title: str,
    xlim: tuple[float, float],
) -> Path:
    """Bars top to bottom in the order given; written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 1.5))
    bars = ax.barh(list(names), list(values), color=list(colours))
    for bar, note in zip(bars, notes, strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + note, va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
