"""Outcomes from the dispatch system (签收, 退单, 改派, 改类, 办结, 评价, 重办) applied to recorded events, checked
against the knowledge the gateway serves: a category or department it does not name is refused with close ones."""

from __future__ import annotations

from typing import Any

from citymind.errors import CitymindError, EventStoreUnavailable, UnknownTerm
from events.metrics import OUTCOMES
from events.records import EventRecords, Outcome
from knowledge_graph.snapshot import KnowledgeSnapshot


def report_outcome(
    records: EventRecords | None, knowledge: KnowledgeSnapshot, event_id: str, outcome: Outcome, by: str | None
) -> tuple[dict[str, Any], bool]:
    """``records.add_outcome`` after the outcome's category and department are found in ``knowledge``."""
    if records is None:
        raise EventStoreUnavailable("this gateway records no events (CITYMIND_EVENTS_URL=off); no outcome can apply")
    if outcome.get("category"):
        outcome["category"] = _known(knowledge, str(outcome["category"]), "EventCategory", "category")
    if outcome.get("department"):
        outcome["department"] = _known(knowledge, str(outcome["department"]), "Department", "department")
    event, applied = records.add_outcome(event_id, outcome, by)
    if applied:
        OUTCOMES.labels(outcome["type"]).inc()
    return event, applied


def _known(knowledge: KnowledgeSnapshot, name: str, node_type: str, field: str) -> str:
    """The label of the one ``node_type`` node ``name`` names (a code or alias gives its label)."""
    graph = knowledge.graph
    try:
        return graph.label(graph.resolve(name, node_type))
    except CitymindError as exc:
        raise UnknownTerm(f"{field} {name!r} is not in the knowledge the gateway serves: {exc}") from None
