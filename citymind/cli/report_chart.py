"""The chart of ``citymind events report --chart FILE``: the headline rates per group as grouped bars, volume on
the labels — a figure a person puts in a weekly report. An ``.svg`` keeps its text as text, so Chinese names show
in any browser or office program with the fonts of the machine that opens it; a ``.png`` needs a CJK font here
and, without one, names its groups G1, G2, … (the key is returned for the caller to print)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from citymind import extras

#: the rates drawn, with their Chinese names
MEASURES = {"first_time_right": "一次派准率", "category_accuracy": "分类准确率", "sla_compliance": "按时办结率",
            "satisfaction": "满意率", "reopen_rate": "重办率"}  # fmt: skip
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "SimHei", "Microsoft YaHei", "AR PL UMing CN")  # fmt: skip
MAX_GROUPS = 20


def draw(report: Mapping[str, Any], path: Path) -> list[tuple[str, str]]:
    """Write the chart of ``report`` (an ``evaluate`` answer) to ``path``; the key of short labels when the groups'
    names could not be drawn (else empty)."""
    extras.require("citymind events report --chart")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(report["groups"])[:MAX_GROUPS]
    as_text = path.suffix.lower() == ".svg"
    font = None if as_text else _cjk_font()
    plain = not as_text and font is None
    key = [(f"G{i}", str(g["group"])) for i, g in enumerate(groups, start=1)] if plain else []
    names = [k for k, _ in key] if plain else [str(g["group"]) for g in groups]
    measures = {m: (m if plain else zh) for m, zh in MEASURES.items()}
    params: dict[str, Any] = {"svg.fonttype": "none"} if as_text else {}
    if as_text or font:  # an .svg names the CJK fonts for the program that opens it to pick from
        params["font.sans-serif"] = [*(CJK_FONTS if as_text else [font]), "DejaVu Sans"]
    with plt.rc_context(params), warnings.catch_warnings():  # type: ignore[arg-type]
        # laid out here with the fonts this machine has: an .svg without a CJK font here warns for every glyph
        warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
        fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 4.5))
        _bars(ax, groups, names, measures)
        since, until = _day(report["since"]), _day(report["until"])
        ax.set_title(f"{'Evaluation' if plain else '综合评判'} by {report['by']}: {since} – {until}")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return key


def _bars(ax: Any, groups: Sequence[Mapping[str, Any]], names: Sequence[str], measures: Mapping[str, str]) -> None:
    width = 0.8 / len(measures)
    for n, (measure, label) in enumerate(measures.items()):
        values = [g[measure] if g[measure] is not None else 0.0 for g in groups]
        ax.bar([i + n * width - 0.4 + width / 2 for i in range(len(groups))], values, width, label=label)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{name}\n(n={g['volume']})" for name, g in zip(names, groups, strict=True)], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _day(epoch: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(epoch).date().isoformat()
