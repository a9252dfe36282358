"""Generated rule files for the rule benchmarks (``bench_rules.py``'s reload, ``bench_rule_checks.py``)."""

from __future__ import annotations

import random


def alert_file(rules: int, rng: random.Random) -> str:
    """``rules`` PM2.5 alert rules in one group, each with its own thresholds."""
    lines = ["groups:", "  - name: big", "    kind: alert", "    rules:"]
    for i in range(rules):
        lines += [
            f"      - id: r{i}",
            f"        title: 第{i}条 PM2.5 预警",
            f"        when: value > {rng.randrange(500)} and forecast.max < {rng.randrange(900)}",
            "        for: 1h",
            "        labels: {indicator: pm25}",
        ]
    return "\n".join(lines) + "\n"
