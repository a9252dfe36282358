"""Generate the SAMPLE corpus of Pingdu-style citizen reports that trains the default classifier."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

import knowledge_graph

TEMPLATES = Path(__file__).with_name("defaults") / "sample_reports.yaml"
PINGDU = Path(knowledge_graph.__file__).with_name("defaults") / "pingdu.yaml"


def generate_sample_reports(path: Path, per_category: int = 60, seed: int = 7) -> Path:
    """Write a CSV (``text``, ``category``, ``sample``) of synthetic reports; deterministic for a seed."""
    spec = yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))
    places = ["平度市" + a["label"] for a in yaml.safe_load(PINGDU.read_text(encoding="utf-8"))["areas"]]
    rng = random.Random(seed)
    rows = []
    for category, issues in spec["categories"].items():
        for _ in range(per_category):
            text = rng.choice(spec["templates"]).format(
                place=rng.choice(places),
                issue=rng.choice(issues),
                ask=rng.choice(spec["asks"]),
                time=rng.choice(spec["times"]),
                duration=rng.choice(spec["durations"]),
                where=rng.choice(spec["wheres"]),
            )
            rows.append((text, category))
    rng.shuffle(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category", "sample"])
        writer.writerows((text, category, "synthetic") for text, category in rows)
    return path
