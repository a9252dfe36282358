"""The event engine's triage (事件分拨): a citizen report → category → departments → dispatch rules → similar
past cases → duplicates, in one answer with its explanation. It only joins the libraries: the classifier (model
hub), the knowledge graph (``dispatch``, ``similar_cases``), the rule set (``dispatch`` rules), and the components
that clean, mask and place the text. Nothing here decides what a library already decides."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Required, TypedDict, cast

from citymind.errors import Unprocessable, ValidationError
from events.canary import Canary
from events.classify import RoutedClassification, classify_routed
from events.decision import DispatchAnswer, department_of, dispatch_of, merge_decisions
from events.metrics import BATCH_SIZE, RECORDED, RULE_FIRINGS
from events.ports import EventStore, ModelSource
from events.recent import Duplicate, RecentEntry, Seen
from events.recording import event_id_of, report_record, warning_record
from events.records import EventRecords
from events.state import EventState, UndoableTimers
from knowledge_graph.snapshot import KnowledgeSnapshot
from models.components.base import Component, available_components
from models.served import CategoryScore
from registry import AssetRegistry, AssetVersion
from registry.follow import AliasFollower
from rules.engine import Firing
from rules.service import RuleService


class Reporter(TypedDict, total=False):
    """Who made a report: a stable id (hashed upstream), and whether they are to be served first."""

    id: str
    vulnerable: bool


class CitizenReport(TypedDict, total=False):
    """A citizen report as the engine reads it: ``text``, and what else the channel gave (``time``: ISO 8601 or a
    datetime, default now; ``area``: else found in the text; ``id``: else a new one)."""

    text: Required[str]
    id: str
    area: str
    time: str | datetime
    channel: str
    reporter: Reporter


class SimilarCase(TypedDict):
    id: str
    title: str
    reply: str
    score: float


class SimilarCases(TypedDict):
    cases: list[SimilarCase]
    note: str


class TriageAnswer(TypedDict):
    """``triage``'s answer for one report: category (model), departments (graph), priority, SLA, escalation,
    transfer and queue (rules), similar past cases and duplicates, and the explanation of each part. ``event_id``
    names its record (``GET /v1/events/{event_id}``; None when the gateway records nothing)."""

    id: str
    event_id: str | None
    text: str
    pii: list[dict[str, object]]
    category: str
    confidence: float
    top_k: list[CategoryScore]
    area: str | None
    department: dict[str, object]
    priority: str
    sla: str
    escalate_after: str | None
    transfer: str | None
    queue: str | None
    similar_cases: list[SimilarCase]
    duplicates: list[Duplicate]
    explanation: dict[str, object]


@dataclass(frozen=True)
class Prepared:
    """A report after the components: its text cleaned and masked (``pii``: what was masked), the area it names
    (``area_match``: where in the text) or was given, its time, its id (the channel's, else a new one) and its event
    id (the same report from the same channel is the same event, ``events.recording.event_id_of``)."""

    report: CitizenReport
    text: str
    pii: list[dict[str, object]]
    area_match: dict[str, object] | None
    area_name: str | None
    time: datetime
    id: str
    event_id: str


@dataclass(frozen=True)
class TriageConfig:
    model: str = "event-classifier"
    knowledge: str = "pingdu-knowledge@production"
    rules: str = "pingdu-rules@production"
    similar_cases: int = 3
    top_k: int = 3
    refresh_interval: float = 2.0


class EventEngine:
    """``triage(report)`` for one report, ``triage_batch(reports)`` for many (one classifier call)."""

    def __init__(
        self,
        hub: ModelSource,
        config: TriageConfig | None = None,
        state: EventStore | None = None,
        canary: Canary | None = None,
        records: EventRecords | None = None,
    ) -> None:
        """``state``: recent reports, rule timers and evaluated hours (an ``EventState`` that persists, or a
        ``SharedEventState``); None: this engine keeps its own, in memory. ``canary``: the replica's split (one
        per replica, so every endpoint routes a request key the same way); None: the engine's own. ``records``:
        where every answer is recorded before it is returned (None: nothing is recorded)."""
        self.hub, self.config, self.records = hub, config or TriageConfig(), records
        self.state: EventStore = EventState() if state is None else state
        self.timers = UndoableTimers(self.state)
        self.canary = canary or Canary(hub, refresh_interval=self.config.refresh_interval)
        name, _, alias = self.config.knowledge.partition("@")
        self.knowledge = AliasFollower(
            hub.registry, name, alias or "production", _load_knowledge, refresh_interval=self.config.refresh_interval
        )
        rules_name, _, rules_alias = self.config.rules.partition("@")
        self.rules = RuleService(
            hub.registry,
            rules_name,
            alias=rules_alias or "production",
            refresh_interval=self.config.refresh_interval,
            timers=self.timers,
        )
        self.knowledge.watch()  # both follow their alias in the background: a moved alias is served within
        self.rules.watch()  # refresh_interval, and no request waits on the registry for it
        self._prepare = _components()

    def close(self) -> None:
        """Stop following the knowledge and rule aliases (their watcher threads end at once)."""
        self.knowledge.stop()
        self.rules.stop()

    def __enter__(self) -> EventEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def triage(self, report: CitizenReport) -> TriageAnswer:
        return self.triage_batch([report])[0]

    def triage_batch(self, reports: Sequence[CitizenReport]) -> list[TriageAnswer]:
        BATCH_SIZE.labels("/v1/events/triage").observe(len(reports))
        prepared = [self._prepare_one(r) for r in reports]
        keys = [str((p.report.get("reporter") or {}).get("id") or p.id) for p in prepared]
        classified = self._classify([p.text for p in prepared], keys)
        reporters = [self._reporter(p) for p in prepared]
        seen = self.state.add_many(
            [_recent_entry(p, c, r) for p, c, r in zip(prepared, classified, reporters, strict=True)]
        )
        try:
            with self.timers.attempt():  # a failed attempt's rule timers are set back
                answers = self._answer(prepared, classified, seen)
                self._record(prepared, answers, reporters)
        except BaseException:
            # nothing was answered: a report the channel did not name gets a new event id when it is sent again,
            # so this attempt leaves the window, or the retry would find it as its own duplicate
            self.state.discard([p.event_id for p in prepared if not p.report.get("id")])
            raise
        return answers

    def _answer(
        self, prepared: list[Prepared], classified: list[RoutedClassification], seen: list[Seen]
    ) -> list[TriageAnswer]:
        knowledge = self.knowledge.current()
        dispatches = [
            dispatch_of(knowledge, c["category"], p.area_name) for p, c in zip(prepared, classified, strict=True)
        ]
        parts = list(zip(prepared, classified, seen, dispatches, strict=True))
        firings = self.rules.evaluate_many(
            "dispatch", [(_rule_event(*part), part[0].time.timestamp()) for part in parts]
        )
        return [self._decide(knowledge, *part, fired) for part, fired in zip(parts, firings, strict=True)]

    def _reporter(self, prepared: Prepared) -> str | None:
        """The reporter's id as the engine keeps it: a keyed hash when events are recorded (the store and the
        recent reports then count repeat callers by the same value), else as given."""
        given = (prepared.report.get("reporter") or {}).get("id")
        return self.records.reporter_hash(given) if self.records is not None else given

    def record_warnings(self, kind: str, warnings: list[dict[str, object]], times: list[float]) -> None:
        """Indicator warnings (``kind`` "warning") or video events ("video") recorded before they are answered,
        each then carrying its ``event_id``."""
        if self.records is None or not warnings:
            return
        rules = self.rules.status()
        rows = [warning_record(kind, w, rules, t) for w, t in zip(warnings, times, strict=True)]
        self.records.record(rows)
        RECORDED.labels(kind).inc(len(rows))
        for warning, row in zip(warnings, rows, strict=True):
            warning["event_id"] = row["id"]

    def _record(self, prepared: list[Prepared], answers: list[TriageAnswer], reporters: list[str | None]) -> None:
        """Each answer recorded (one transaction) before any is returned; each then carries its ``event_id``."""
        if self.records is None:
            return
        rows = []
        for p, answer, reporter in zip(prepared, answers, reporters, strict=True):
            answer["event_id"] = p.event_id
            rows.append(report_record(p.event_id, p.report, p.time.timestamp(), answer, reporter))
        self.records.record(rows)
        RECORDED.labels("report").inc(len(rows))

    def _prepare_one(self, report: CitizenReport) -> Prepared:
        record: dict[str, Any] = {"text": report["text"]}  # the components' record
        for component in self._prepare:
            record = component(record)
        when = _parse_time(report.get("time"))
        area = report.get("area") or (record["area"] or {}).get("label")
        report_id = report.get("id") or uuid.uuid4().hex[:12]
        return Prepared(
            report, record["text"], record["pii"], record["area_match"], area, when, report_id, event_id_of(report)
        )

    def _classify(self, texts: list[str], keys: list[str]) -> list[RoutedClassification]:
        """Each text by the model version its key is routed to (champion, or challenger for a canary share)."""
        return classify_routed(self.canary, self.config.model, texts, keys, self.config.top_k)

    def _decide(
        self,
        knowledge: KnowledgeSnapshot,
        prepared: Prepared,
        classified: RoutedClassification,
        seen: Seen,
        dispatch: DispatchAnswer,
        fired: list[Firing],
    ) -> TriageAnswer:
        firings = [f for f in fired if not f.suppressed]
        for f in firings:
            RULE_FIRINGS.labels(f.version or "", f.rule).inc()
        decision = merge_decisions(firings)
        cases = _similar(knowledge, prepared.text, self.config.similar_cases)
        return {
            "id": prepared.id,
            "event_id": None,
            "text": prepared.text,
            "pii": prepared.pii,
            "category": classified["category"],
            "confidence": classified["confidence"],
            "top_k": classified["top_k"],
            "area": prepared.area_name,
            "department": department_of(dispatch, decision.pop("department", None)),
            "priority": decision["priority"],
            "sla": decision["sla"],
            "escalate_after": decision["escalate_after"],
            "transfer": decision["transfer"],
            "queue": decision["queue"],
            "similar_cases": cases["cases"],
            "duplicates": seen.duplicates,
            "explanation": {
                "model": classified["model"],
                "knowledge": self.knowledge.status(),
                "graph_path": dispatch.get("path", []),
                "rules": {"ruleset": self.rules.status(), "fired": [f.to_dict() for f in firings]},
                "similar_cases": cases["note"],
                "area": prepared.area_match,
            },
        }


def _rule_event(
    prepared: Prepared, classified: RoutedClassification, seen: Seen, dispatch: DispatchAnswer
) -> dict[str, object]:
    """What the dispatch rules read of a report (docs/rules.md lists the fields)."""
    report, when = prepared.report, prepared.time
    reporter = dict(report.get("reporter") or {})
    return {
        "category": classified["category"],
        "confidence": classified["confidence"],
        "text": prepared.text,
        "area": prepared.area_name,
        "hour": when.hour,
        "weekday": when.isoweekday(),
        "channel": report.get("channel"),
        "department": dispatch.get("lead"),
        "reporter": {**reporter, "count": seen.reporter_count},
        "duplicates": len(seen.duplicates),
    }


def _recent_entry(prepared: Prepared, classified: RoutedClassification, reporter: str | None) -> RecentEntry:
    """What the recent-report store keeps of a report (``RecentReports.add``'s arguments)."""
    return (prepared.event_id, prepared.text, classified["category"], prepared.area_name, reporter,
            prepared.time.timestamp(), prepared.id)  # fmt: skip


def _components() -> list[Component]:
    known = available_components()
    return [known[name]().setup() for name in ("text.normalize", "privacy.mask", "geo.resolve_area")]


def _load_knowledge(registry: AssetRegistry, target: AssetVersion) -> KnowledgeSnapshot:
    return KnowledgeSnapshot.from_registry(registry, f"{target.name}/{target.version}")


def _similar(knowledge: KnowledgeSnapshot, text: str, k: int) -> SimilarCases:
    if getattr(knowledge, "cases", None) is None:
        return {"cases": [], "note": "this knowledge snapshot has no case index (citymind kg index)"}
    hits = knowledge.similar_cases(text, k)
    cases = cast(list[SimilarCase], [h.to_dict() for h in hits])
    return {"cases": cases, "note": f"{len(cases)} past cases by report-to-report similarity"}


#: the times a report may carry: rules and the recent reports read them as epoch seconds
EARLIEST, LATEST = datetime(1970, 1, 2), datetime(2200, 1, 1)


def _parse_time(value: object) -> datetime:
    if value is None:
        return datetime.now()
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"time must be ISO 8601, e.g. '2026-11-26T09:30:00'. Got {value!r}.") from None
    if not EARLIEST <= when.replace(tzinfo=None) < LATEST:
        raise Unprocessable(
            f"time {when.isoformat()} is outside {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}; send when it was reported"
        )
    return when
