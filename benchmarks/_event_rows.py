"""A year of generated event records for ``bench_event_store.py``: Pingdu's areas, the dispatch catalogue's leaf
categories dispatched by the real default graph (``knowledge_graph.defaults``), real citizen messages as the masked
texts, and outcomes as a dispatch system reports them (签收, 退单 → 改派, 改类, 办结, 评价, 重办) with their
timelines. Rows go straight into the store's own tables (created by ``EventRecords.migrate``) with the DBAPI's
``executemany``, in time order as a gateway records them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from events.records import EventRecords, new_event_id
from events.records.schema import events, outcomes
from knowledge_graph.defaults import PINGDU_YAML, load_pingdu

DAY = 86400.0
SLA_S = {"P1": 1800, "P2": 4 * 3600, "P3": 24 * 3600, "P4": 72 * 3600}
PRIORITIES = (("P1", 0.03), ("P2", 0.17), ("P3", 0.6), ("P4", 0.2))
CHANNELS = (("12345", 0.55), ("wechat", 0.2), ("app", 0.12), ("open311", 0.05), ("web", 0.08))
KINDS = (("report", 0.92), ("warning", 0.05), ("video", 0.03))
SATISFACTION = (("满意", 0.7), ("基本满意", 0.2), ("不满意", 0.1))
RULES = ("gas-leak-p1", "repeated-report-merge", "repeat-caller-escalate", "night-noise-p2", "low-confidence-review")


@dataclass(frozen=True)
class Catalogue:
    """Areas, leaf categories and who each (category, area) goes to, from the shipped defaults."""

    areas: list[str]
    categories: list[str]
    departments: list[str]
    dispatch: dict[tuple[str, str], tuple[str, list[str]]]


def catalogue() -> Catalogue:
    spec = yaml.safe_load(PINGDU_YAML.read_text(encoding="utf-8"))
    graph = load_pingdu()
    areas = [a["label"] for a in spec["areas"]]
    leaves = [leaf for entry in spec["categories"].values() for leaf in entry.get("children", {})]
    dispatch = {}
    for category in leaves:
        for area in areas:
            d = graph.dispatch(category, area)
            dispatch[category, area] = (str(d.lead), [str(a) for a in d.assists])
    departments = sorted({lead for lead, _ in dispatch.values()})
    return Catalogue(areas, leaves, departments, dispatch)


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


class Generator:
    """``batches(n, now)``: n events over the year before ``now``, oldest first, each with its outcome rows."""

    def __init__(self, texts: list[str], seed: int = 19) -> None:
        self.texts, self.rng, self.cat = texts, random.Random(seed), catalogue()
        rng = self.rng
        self.area_weights = [rng.uniform(0.3, 3.0) for _ in self.cat.areas]
        self.category_weights = [rng.paretovariate(1.2) for _ in self.cat.categories]
        self.model_switch = 0.0
        self.callers = [f"{rng.getrandbits(128):032x}" for _ in range(60_000)]  # keyed hashes, as the store keeps

    def batches(self, n: int, now: float, size: int = 20_000) -> Iterator[tuple[list[dict], list[dict]]]:
        self.model_switch = now - 120 * DAY  # version 2 became the champion four months ago
        times = sorted(now - 365 * DAY * self.rng.random() ** 1.05 for _ in range(n))
        for start in range(0, n, size):
            evs: list[dict] = []
            outs: list[dict] = []
            for at in times[start : start + size]:
                row = self.event(at)
                outs.extend(self.outcomes(row, now))
                evs.append(row)
            yield evs, outs

    def event(self, at: float) -> dict[str, Any]:
        rng, cat = self.rng, self.cat
        kind = pick(rng, KINDS)
        area = rng.choices(cat.areas, self.area_weights)[0]
        category = rng.choices(cat.categories, self.category_weights)[0]
        lead, assists = cat.dispatch[category, area]
        row = {c.name: None for c in events.c}
        row.update(id=new_event_id(at), kind=kind, report_id=f"{rng.getrandbits(48):012x}", at=at,
                   recorded_at=at + rng.uniform(0.001, 0.05), area=area, text=rng.choice(self.texts),
                   category=category, confidence=round(min(1.0, rng.betavariate(8, 1.5)), 5), lead=lead,
                   assists=json.dumps(assists, ensure_ascii=False), status="open", department=lead,
                   knowledge_version="pingdu-knowledge/1", ruleset_version="pingdu-rules/1",
                   rules_fired=json.dumps(rng.sample(RULES, rng.choice((0, 1, 1, 2)))),
                   returns=0, reassigns=0, corrected=0, reopens=0, revision=0)  # fmt: skip
        if kind == "report":
            row.update(channel=pick(rng, CHANNELS), reporter=rng.choice(self.callers), model="event-classifier",
                       model_version="1" if at < self.model_switch else "2",
                       model_arm="challenger" if rng.random() < 0.1 else "champion",
                       merged_into=f"{rng.getrandbits(48):012x}" if rng.random() < 0.07 else None)  # fmt: skip
        else:
            row.update(channel="camera" if kind == "video" else "sensor", detail=json.dumps({"rule": "threshold"}))
        row.update(self.decision(at))
        return row

    def decision(self, at: float) -> dict[str, Any]:
        """Priority, SLA and escalation (with their due times), transfer and review queue, as the rules decide."""
        rng = self.rng
        priority = pick(rng, PRIORITIES)
        escalate = 900 if priority == "P1" else (4 * 3600 if rng.random() < 0.2 else None)
        return {
            "priority": priority,
            "sla_s": SLA_S[priority],
            "due_at": at + SLA_S[priority],
            "escalate_after_s": escalate,
            "escalate_at": at + escalate if escalate else None,
            "transfer": "119" if priority == "P1" and rng.random() < 0.3 else None,
            "queue": "manual-review" if rng.random() < 0.04 else None,
        }

    def outcomes(self, row: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """What happened to the event by ``now``; its status columns updated to match (as ``add_outcome`` would)."""
        rng, t, steps = self.rng, row["at"], []

        def step(kind: str, after: float, **extra: Any) -> bool:
            nonlocal t
            if t + after > now:
                return False
            t += after
            steps.append({"type": kind, "at": t, **extra})
            return True

        if rng.random() < 0.1 and not step("category_corrected", rng.expovariate(1 / 1800), category=self._other(row)):
            return self._finish(row, steps)
        if rng.random() < 0.08:
            if not step("returned", rng.expovariate(1 / 3600), reason="不属于本单位职责"):
                return self._finish(row, steps)
            if not step("reassigned", rng.expovariate(1 / 1800), department=rng.choice(self.cat.departments)):
                return self._finish(row, steps)
        sla = row["sla_s"]
        if not step("accepted", rng.expovariate(1 / min(sla / 4, 7200))):
            return self._finish(row, steps)
        if not step("resolved", rng.lognormvariate(0, 0.6) * sla * 0.6, reply="已处理，感谢您的反映。"):
            return self._finish(row, steps)
        if rng.random() < 0.85 and not step("closed", rng.expovariate(1 / DAY), satisfaction=pick(rng, SATISFACTION)):
            return self._finish(row, steps)
        if rng.random() < 0.03 and step("reopened", rng.expovariate(1 / (2 * DAY))):
            step("accepted", rng.expovariate(1 / 3600))
        return self._finish(row, steps)

    def _other(self, row: dict[str, Any]) -> str:
        return self.rng.choice([c for c in self.cat.categories[:12] if c != row["category"]])

    def _finish(self, row: dict[str, Any], steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from events.records.lifecycle import apply

        out = []
        for n, s in enumerate(steps):
            row.update(apply(row, s))  # type: ignore[arg-type]
            row["revision"] += 1
            out.append({"event_id": row["id"], "outcome_id": f"{row['id']}-{n}", "type": s["type"], "at": s["at"],
                        "recorded_at": s["at"] + 0.02, "department": s.get("department"),
                        "category": s.get("category"), "reason": s.get("reason"), "reply": s.get("reply"),
                        "satisfaction": s.get("satisfaction"), "rules": None, "status": row["status"],
                        "by": "dispatch-system"})  # fmt: skip
        return out


def insert_all(records: EventRecords, gen: Generator, n: int, now: float) -> dict[str, int]:
    """The n events and their outcomes in the store's tables, one transaction a batch; counts inserted."""
    ev_sql = _insert_sql(events.name, [c.name for c in events.c])
    out_cols = [c.name for c in outcomes.c if c.name != "seq"]
    out_sql = _insert_sql(outcomes.name, out_cols)
    counts = {"events": 0, "outcomes": 0}
    raw = records.engine.raw_connection()
    try:
        cur = raw.cursor()
        for evs, outs in gen.batches(n, now):
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(ev_sql, [tuple(r[c.name] for c in events.c) for r in evs])
            cur.executemany(out_sql, [tuple(o[c] for c in out_cols) for o in outs])
            cur.execute("COMMIT")
            counts["events"] += len(evs)
            counts["outcomes"] += len(outs)
        cur.close()
    finally:
        raw.close()
    return counts


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
