"""Overdue events (超期督办): a recorded event past its SLA without being resolved, or past ``escalate_after``
without being accepted, is escalated once — whichever replica finds it first claims it in the store — through the
``overdue`` rules of the rule set the engine follows. The escalation goes on the event's timeline. The same watch
purges records past ``retention_days`` once an hour and refreshes the 综合评判 gauges every five minutes."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from events.decision import merge_decisions
from events.evaluation import headline
from events.metrics import ESCALATIONS, EVALUATION, RULE_FIRINGS
from events.records import EventRecords
from rules.service import RuleService

log = logging.getLogger("citymind.events")


class OverdueWatch:
    """``sweep()`` escalates what is overdue now; ``start()`` sweeps every ``interval_s`` in a thread of its own
    (and purges every ``purge_every_s``) until ``stop()``. ``rules`` gives the rule service the engine follows when
    a sweep needs it (so a gateway starts before its rule set is loaded)."""

    def __init__(
        self,
        records: EventRecords,
        rules: Callable[[], RuleService],
        interval_s: float = 30.0,
        purge_every_s: float = 3600.0,
        gauge_every_s: float = 300.0,
    ) -> None:
        self.records, self.rules = records, rules
        self.interval_s, self.purge_every_s, self.gauge_every_s = interval_s, purge_every_s, gauge_every_s
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self, now: float | None = None) -> list[dict[str, Any]]:
        """Claim the events overdue at ``now`` (not escalated before), run the overdue rules on each and put
        what they decide on its timeline; the escalations made."""
        now = time.time() if now is None else now
        claimed = self.records.claim_overdue(now)
        if not claimed:
            return []
        facts = [(overdue_facts(event, now), now) for event in claimed]
        escalations = []
        for event, (fact, _), fired in zip(claimed, facts, self.rules().evaluate_many("overdue", facts), strict=True):
            firings = [f for f in fired if not f.suppressed]
            for f in firings:
                RULE_FIRINGS.labels(f.version or "", f.rule).inc()
            summary = next((f.annotations["summary"] for f in firings if f.annotations.get("summary")), None)
            reason = summary or f"overdue ({fact['clock']}) by {fact['overdue_h']} h"
            self.records.note_escalation(event["id"], now, reason, [f.rule for f in firings])
            ESCALATIONS.labels(str(fact["clock"])).inc()
            escalations.append({"event_id": event["id"], **fact, "reason": reason, **merge_decisions(firings)})
        return escalations

    def start(self) -> OverdueWatch:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="overdue-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def gauge(self, now: float | None = None) -> None:
        """Set the 综合评判 gauges from the last 7 days' outcomes."""
        for measure, value in headline(self.records, now=now).items():
            EVALUATION.labels(measure).set(float("nan") if value is None else value)

    def _run(self) -> None:
        purged_at = gauged_at = -math.inf
        while not self._stop.wait(self.interval_s):
            try:
                self.sweep()
                if time.monotonic() - purged_at >= self.purge_every_s:
                    purged_at = time.monotonic()
                    if gone := self.records.purge():
                        log.info("purged %d event records past their retention", gone)
                if time.monotonic() - gauged_at >= self.gauge_every_s:
                    gauged_at = time.monotonic()
                    self.gauge()
                self.last_error = None
            except Exception as exc:  # reported; the next sweep tries again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("the overdue sweep failed (%s); trying again in %.0f s", exc, self.interval_s)


def overdue_facts(event: Mapping[str, Any], now: float) -> dict[str, object]:
    """What the ``overdue`` rules read of an event (docs/rules.md)."""
    due = _epoch(event.get("due_at"))
    clock = "sla" if due is not None and due < now else "escalate"
    since = due if clock == "sla" else _epoch(event.get("escalate_at"))
    return {
        "category": event.get("category_final"),
        "area": event.get("area"),
        "department": event.get("department"),
        "priority": event.get("priority"),
        "kind": event.get("kind"),
        "clock": clock,
        "overdue_h": round((now - (since or now)) / 3600, 1),
        "hour": datetime.fromtimestamp(now).hour,
        "returns": event.get("returns"),
        "reassigns": event.get("reassigns"),
    }


def _epoch(iso: object) -> float | None:
    return datetime.fromisoformat(str(iso)).timestamp() if iso else None
