"""The full check of a rule file (``rules.check_rules``: every error and warning at its line:col, what
``citymind rules validate`` and the console's editor run) next to its baseline, the load of the same file (the fast
way, which a clean file always takes and which never lints). Interleaved, best of ``--repeat`` each, on one core.
Prints JSON: per size, the load and the check in seconds and their ratio; the problems found.

Run: ``.venv/bin/python benchmarks/bench_rule_checks.py [--repeat 3]``"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._rule_files import alert_file
from rules.checks import check_rules
from rules.loader import parse_rules

DEFAULTS = Path(__file__).resolve().parent.parent / "rules" / "defaults" / "pingdu.yaml"


def measure(text: str, repeat: int) -> dict[str, Any]:
    loads, checks = [], []
    problems = check_rules(text)  # warm: conditions compiled and cached for both, as in service
    for _ in range(repeat):
        start = time.perf_counter()
        parse_rules(text)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        check_rules(text)
        checks.append(time.perf_counter() - start)
    load, check = min(loads), min(checks)
    return {
        "load_s": round(load, 4),
        "check_s": round(check, 4),
        "check_to_load": round(check / load, 1),
        "errors": sum(p.severity == "error" for p in problems),
        "warnings": sum(p.severity == "warning" for p in problems),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    rng = random.Random(0)
    sizes = {"default_pingdu_20_rules": DEFAULTS.read_text(encoding="utf-8")}
    sizes |= {f"alert_{n}_rules": alert_file(n, rng) for n in (200, 2_000, 10_000)}
    report = {
        "benchmark": "rule_checks",
        "cores": 1,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "baseline": "load_s: parse_rules of the same clean file (the fast way); check_s: check_rules",
        "files": {name: measure(text, args.repeat) for name, text in sizes.items()},
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
