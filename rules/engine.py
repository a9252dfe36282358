"""Evaluate a rule set: which rules fire for an event (dispatch, video) or along an indicator series (alert),
with ``for``/``keep_firing_for``, suppression of repeats by ``group_by`` + ``interval`` (并单), and an
explanation of every firing: rule, condition, the values it saw. The timers live in ``rules.timers``."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from rules.loader import Rule, RuleSet
from rules.schema import FIELDS, Then
from rules.timers import Outcome, RuleTimers, Step, TimerStore

#: what one series is, per kind: an alert's ``for`` timer runs per indicator and area, a video rule's per camera and
#: zone (as a Prometheus alert's runs per label set); ``group_by`` adds to these
SERIES: dict[str, tuple[str, ...]] = {"alert": ("indicator", "area"), "video": ("camera", "zone")}

log = logging.getLogger("citymind.rules")
_TEMPLATE = re.compile(r"\{([A-Za-z][\w.]*)\}")


@dataclass(frozen=True)
class Firing:
    """One rule that fired, with everything needed to explain it: the rule and the rule-set version, the
    condition, the values it saw, the thresholds of it they met, and how long it had held."""

    rule: str
    group: str
    condition: str
    values: dict[str, object]
    then: Then = field(default_factory=Then)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    severity: str = "warning"
    at: float = 0.0
    suppressed: bool = False
    version: str | None = None
    thresholds: tuple[str, ...] = ()
    held_for: float = 0.0

    def explain(self) -> str:
        seen = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        where = f" ({self.version})" if self.version else ""
        held = f" for {self.held_for:g}s" if self.held_for else ""
        merged = "; suppressed as a repeat within its interval" if self.suppressed else ""
        return f"{self.rule}{where}: {self.condition} held{held} with {seen}{merged}"

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "group": self.group,
            "version": self.version,
            "severity": self.severity,
            "condition": self.condition,
            "values": self.values,
            "thresholds": list(self.thresholds),
            "held_for_s": self.held_for,
            "then": self.then,
            "labels": self.labels,
            "annotations": self.annotations,
            "at": self.at,
            "suppressed": self.suppressed,
            "explanation": self.explain(),
        }


def field_value(event: Mapping[str, object], path: str) -> object:
    value: object = event
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def render(template: str, event: Mapping[str, object]) -> str:
    """``{field}`` placeholders filled from the event (a field it lacks: nothing); nothing else is interpreted."""

    def fill(match: re.Match[str]) -> str:
        value = field_value(event, match.group(1))
        return "" if value is None else str(value)

    return _TEMPLATE.sub(fill, template).strip()


class RuleEngine:
    """Evaluation of one rule set. The ``for`` timers and repeat suppression live in ``timers`` (its own
    :class:`RuleTimers` unless given one): an engine built for a reloaded rule set on the old one's timers keeps
    them for the rules the reload left unchanged, and engines of several replicas can share one store."""

    def __init__(self, ruleset: RuleSet, *, timers: TimerStore | None = None) -> None:
        self.ruleset = ruleset
        self.timers: TimerStore = RuleTimers() if timers is None else timers
        self._plans: dict[str, tuple[_Planned, ...]] = {}
        #: per rule id, how many evaluations raised, and the last error: the rule was skipped each time
        self.errors: dict[str, int] = {}
        self.last_error: dict[str, str] = {}

    def evaluate(self, kind: str, event: Mapping[str, object], at: float = 0.0) -> list[Firing]:
        """Rules of ``kind`` that fire for ``event`` at time ``at`` (seconds)."""
        return self.evaluate_many(kind, [(event, at)])[0]

    def evaluate_many(self, kind: str, events: Sequence[tuple[Mapping[str, object], float]]) -> list[list[Firing]]:
        """Per ``(event, at)``, in order, the rules of ``kind`` that fire; the timers are advanced once for all."""
        plan = self._plan(kind)
        candidates: list[list[tuple[Rule, int | None]]] = []
        steps: list[Step] = []
        for event, at in events:
            mine: list[tuple[Rule, int | None]] = []
            for planned in plan:
                holds = self._holds(planned.rule, event)
                if planned.timed or (holds and planned.rule.interval_s):
                    mine.append((planned.rule, len(steps)))
                    steps.append(planned.step(event, holds, at))
                elif holds:
                    mine.append((planned.rule, None))  # fires, and nothing to remember
            candidates.append(mine)
        outcomes = self.timers.advance(steps) if steps else []
        out = []
        for (event, at), mine in zip(events, candidates, strict=True):
            fired = []
            for rule, index in mine:
                outcome = _FIRES if index is None else outcomes[index]
                if outcome is not None:
                    fired.append(self._firing(rule, event, at, outcome))
            out.append(fired)
        return out

    def _holds(self, rule: Rule, event: Mapping[str, object]) -> bool:
        """Whether ``rule``'s condition holds; an evaluation that raises (an overflow, a result over the limits) is
        the rule's error: logged, counted in ``errors``, the rule skipped for this event. Never the request's."""
        try:
            return rule.condition(event) is True
        except Exception as exc:  # any failure of one rule must leave the others running
            self.errors[rule.id] = self.errors.get(rule.id, 0) + 1
            self.last_error[rule.id] = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("rule %s skipped: its condition raised %s", rule.id, self.last_error[rule.id])
            return False

    def run(self, kind: str, events: Iterable[tuple[float, Mapping[str, object]]]) -> list[Firing]:
        """Every firing along ``(at, event)`` pairs, in order."""
        return [f for fired in self.evaluate_many(kind, [(event, at) for at, event in events]) for f in fired]

    def _plan(self, kind: str) -> tuple[_Planned, ...]:
        """The enabled rules of ``kind``, planned at the kind's first use (a reload parses no duration up front)."""
        plan = self._plans.get(kind)
        if plan is None:
            if kind not in FIELDS:
                raise ValueError(f"unknown rule kind {kind!r}; the kinds are {sorted(FIELDS)}")
            rules = [r for r in self.ruleset.rules if r.kind == kind and r.enabled]
            plan = self._plans[kind] = tuple(_Planned.of(r) for r in rules)
        return plan

    def _firing(self, rule: Rule, event: Mapping[str, object], at: float, outcome: Outcome) -> Firing:
        return Firing(
            rule.id,
            rule.group,
            rule.condition.source,
            {f: field_value(event, f) for f in sorted(rule.condition.fields)},
            rule.spec.get("then", {}).copy(),
            {k: render(v, event) for k, v in rule.spec.get("labels", {}).items()},
            {k: render(v, event) for k, v in rule.spec.get("annotations", {}).items()},
            rule.spec.get("severity", "warning"),
            at,
            outcome.suppressed,
            self.ruleset.version,
            rule.condition.held(event),
            outcome.held_for,
        )


_FIRES = Outcome()


class _Planned(NamedTuple):
    """A rule as evaluation uses it: whether it keeps a timer (``for``/``keep_firing_for``), the fields naming
    its series, and (for a rule with a timer or an interval) the digest of its text that keys its timers."""

    rule: Rule
    timed: bool
    fields: tuple[str, ...]
    digest: str | None

    @classmethod
    def of(cls, rule: Rule) -> _Planned:
        timed = bool(rule.for_s or rule.keep_firing_s)
        digest = None
        if timed or rule.interval_s:
            text = json.dumps(rule.spec, sort_keys=True, ensure_ascii=False, default=str)
            digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        return cls(rule, timed, SERIES.get(rule.kind, ()) + rule.group_by, digest)

    def step(self, event: Mapping[str, object], holds: bool, at: float) -> Step:
        series = tuple(str(field_value(event, g)) for g in self.fields)
        rule = self.rule
        return Step((rule.id, self.digest, series), holds, at, rule.for_s, rule.keep_firing_s, rule.interval_s)
