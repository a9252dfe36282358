"""Condition evaluations per second on one core: citymind's compiled expressions on 100 conditions × events.
Prints JSON. (The side-by-side with simpleeval, rule-engine and zen-engine that issue 5 asks for is not built
yet.) Run: ``.venv/bin/python benchmarks/bench_rule_expressions.py``"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rules.expressions import compile_expression

FIELDS = {"category", "confidence", "text", "area", "reporter.count", "pm25"}
TEMPLATES = [
    "confidence < {x} and area == '南村镇'",
    "pm25 > {n} or reporter.count >= {k}",
    "category == '燃气安全' and contains(text, '煤气')",
    "{n} < pm25 <= {m} and confidence >= {x}",
]


def main(events: int = 20_000) -> None:
    rng = random.Random(0)
    conditions = [
        compile_expression(
            rng.choice(TEMPLATES).format(
                x=rng.random(), n=rng.randrange(300), m=rng.randrange(300, 600), k=rng.randrange(5)
            ),
            FIELDS,
        )
        for _ in range(100)
    ]
    sample = [
        {
            "category": rng.choice(["燃气安全", "市容环境"]),
            "confidence": rng.random(),
            "text": "楼道有煤气味",
            "area": rng.choice(["南村镇", "东阁街道"]),
            "reporter": {"count": rng.randrange(6)},
            "pm25": rng.randrange(500),
        }
        for _ in range(events)
    ]
    start = time.perf_counter()
    fired = sum(1 for event in sample for condition in conditions if condition(event))
    seconds = time.perf_counter() - start
    rate = len(sample) * len(conditions) / seconds
    print(
        json.dumps(
            {
                "benchmark": "rule_expressions",
                "conditions": 100,
                "events": events,
                "fired": fired,
                "evaluations_per_s": round(rate),
                "goal_per_s": 200_000,
                "ratio_to_goal": round(rate / 200_000, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
