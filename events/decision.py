"""What decides who handles an event and how fast, once its category is known: the dispatch catalogue's lead and
assisting departments for a category in an area (the knowledge graph), and one decision from the dispatch rules that
fired (priority, SLA, escalation, transfer, review queue, a rule's own lead). Triage, indicator and video alerts,
the overdue sweep and rule backtests all decide this way."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from citymind.errors import CitymindError
from knowledge_graph.snapshot import KnowledgeSnapshot
from rules.engine import Firing
from rules.loader import seconds

#: a report whose rules set nothing gets this priority; a priority without an SLA gets this one
DEFAULT_PRIORITY = "P3"
DEFAULT_SLA = {"P1": "30m", "P2": "4h", "P3": "24h", "P4": "72h"}


class DispatchAnswer(TypedDict, total=False):
    """Who leads and who assists with a category in an area, and the graph's path that explains it: the graph's
    answer (``knowledge_graph.answers.DispatchRecord``) or, when it has none, ``lead`` None and why in ``path``."""

    category: str
    area: str | None
    lead: str | None
    lead_id: str
    assists: list[str]
    assist_ids: list[str]
    source: str
    path: list[str]


class Decision(TypedDict):
    """What the dispatch rules that fired decide together; ``department`` only when a rule names the lead."""

    priority: str
    sla: str
    escalate_after: str | None
    transfer: str | None
    queue: str | None
    department: NotRequired[str]


def dispatch_of(knowledge: KnowledgeSnapshot, category: str, area: str | None) -> DispatchAnswer:
    try:
        return {**knowledge.graph.dispatch(category, area).to_dict()}
    except CitymindError as exc:  # an unknown area still dispatches city-wide; an unknown category goes to review
        if area is not None:
            city = dispatch_of(knowledge, category, None)
            return {**city, "path": [f"area {area!r}: {exc}", *city.get("path", [])]}
        return {"category": category, "lead": None, "assists": [], "path": [str(exc)]}


def department_of(dispatch: DispatchAnswer, override: str | None) -> dict[str, object]:
    """Lead and assisting departments (the graph's path is in the explanation); a rule may name another lead."""
    out: dict[str, object] = {
        k: v for k, v in dispatch.items() if k in ("lead", "lead_id", "assists", "assist_ids", "source")
    }
    if override:
        out = {**out, "lead": override, "lead_id": None, "overridden_by_rule": True}
    return out


def merge_decisions(firings: list[Firing]) -> Decision:
    """One decision from the rules that fired: the most urgent priority, the shortest SLA and escalation, any
    transfer or review queue; a rule's ``department`` overrides the graph's lead."""

    then = [f.then for f in firings]
    priority = min((t["priority"] for t in then if "priority" in t), default=DEFAULT_PRIORITY)
    slas = [t["sla"] for t in then if "sla" in t]
    escalations = [t["escalate_after"] for t in then if "escalate_after" in t]
    decision: Decision = {
        "priority": priority,
        "sla": min(slas, key=seconds) if slas else DEFAULT_SLA[priority],
        "escalate_after": min(escalations, key=seconds) if escalations else None,
        "transfer": next((t["transfer"] for t in then if "transfer" in t), None),
        "queue": next((t["queue"] for t in then if "queue" in t), None),
    }
    department = next((t["department"] for t in then if "department" in t), None)
    if department:
        decision["department"] = department
    return decision
