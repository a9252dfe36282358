"""What the event store keeps of each answer: one record a triaged report, an indicator warning or a video event,
with the versions that decided it. Built from the answer itself, so what is recorded is what was answered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events.records import new_event_id, report_event_id
from rules.loader import seconds


def versions(knowledge: Mapping[str, object], rules: Mapping[str, object]) -> dict[str, object]:
    """The knowledge snapshot and rule set an answer was decided with, as ``name/version``."""
    return {
        "knowledge_version": f"{knowledge.get('name')}/{knowledge.get('version')}",
        "ruleset_version": f"{rules.get('name')}/{rules.get('version')}",
    }


def event_id_of(report: Mapping[str, Any]) -> str:
    """A report the channel named (``id``) is the same event if it comes again; else a new id."""
    given = report.get("id")
    return report_event_id(report.get("channel"), str(given)) if given else new_event_id()


def report_record(
    event_id: str, report: Mapping[str, Any], at: float, answer: Mapping[str, Any], reporter: str | None
) -> dict[str, object]:
    """The record of a triaged report (``report`` as sent, ``answer`` as answered, ``at`` when it was reported):
    the masked text of the answer, never the raw one; ``reporter`` already hashed."""
    model, rules = answer["explanation"]["model"], answer["explanation"]["rules"]
    department = answer["department"]
    return {
        "id": event_id,
        "kind": "report",
        "report_id": answer["id"],  # the channel's id, else the one triage gave it
        "at": at,
        "channel": report.get("channel"),
        "area": answer["area"],
        "text": answer["text"],
        "reporter": reporter,
        "category": answer["category"],
        "confidence": answer["confidence"],
        "model": model.get("name"),
        "model_version": str(model.get("version")),
        "model_arm": model.get("arm"),
        "lead": department.get("lead"),
        "assists": department.get("assists") or [],
        "merged_into": answer["duplicates"][0]["event_id"] if answer["duplicates"] else None,
        "rules_fired": [f["rule"] for f in rules.get("fired", [])],
        **_decision(at, answer),
        **versions(answer["explanation"]["knowledge"], rules.get("ruleset", {})),
    }


def warning_record(kind: str, event: Mapping[str, object], rules: Mapping[str, object], at: float) -> dict[str, object]:
    """The record of an indicator warning (``kind`` "warning") or a video event ("video"): the rule that fired
    decides it; ``detail`` keeps where it came from (indicator and value, or camera, zone and frame)."""
    department = event.get("department") or {}
    assert isinstance(department, Mapping)
    detail_keys = ("rule", "severity", "indicator", "value", "t", "camera", "zone", "frame", "summary", "model",
                   "version", "measure")  # fmt: skip
    return {
        "id": new_event_id(at),
        "kind": kind,
        "at": at,
        "channel": "camera" if kind == "video" else "sensor",
        "area": event.get("area"),
        "text": event.get("summary"),
        "category": event.get("category"),
        "lead": department.get("lead"),
        "assists": department.get("assists") or [],
        "rules_fired": [event.get("rule")],
        "detail": {k: event[k] for k in detail_keys if k in event},
        "ruleset_version": f"{rules.get('name')}/{rules.get('version')}",
        **_decision(at, event),
    }


def _decision(at: float, decided: Mapping[str, object]) -> dict[str, object]:
    sla = decided.get("sla")
    escalate = decided.get("escalate_after")
    sla_s = int(seconds(str(sla))) if sla else None
    escalate_s = int(seconds(str(escalate))) if escalate else None
    return {
        "priority": decided.get("priority"),
        "sla_s": sla_s,
        "due_at": at + sla_s if sla_s is not None else None,
        "escalate_after_s": escalate_s,
        "escalate_at": at + escalate_s if escalate_s is not None else None,
        "transfer": decided.get("transfer"),
        "queue": decided.get("queue"),
    }
