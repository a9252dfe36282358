"""Evaluate a rule set: which rules fire for an event (dispatch, video) or along an indicator series (alert),
with ``for``/``keep_firing_for``, suppression of repeats by ``group_by`` + ``interval`` (并单), and an
explanation of every firing: rule, condition, the values it saw."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.loader import Rule, RuleSet
from rules.schema import FIELDS

#: what one series is, per kind: an alert's ``for`` timer runs per indicator and area, a video rule's per camera and
#: zone (as a Prometheus alert's runs per label set); ``group_by`` adds to these
SERIES: dict[str, tuple[str, ...]] = {"alert": ("indicator", "area"), "video": ("camera", "zone")}

_TEMPLATE = re.compile(r"\{([A-Za-z][\w.]*)\}")


@dataclass(frozen=True)
class Firing:
    """One rule that fired, with everything needed to explain it: the rule and the rule-set version, the
    condition, the values it saw, the thresholds it compared them with, and how long it had held."""

    rule: str
    group: str
    condition: str
    values: dict[str, Any]
    then: dict[str, Any] = field(default_factory=dict)
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

    def to_dict(self) -> dict[str, Any]:
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


def field_value(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def render(template: str, event: Mapping[str, Any]) -> str:
    """``{field}`` placeholders filled from the event; nothing else is interpreted."""
    return _TEMPLATE.sub(lambda m: str(field_value(event, m.group(1))), template)


class RuleEngine:
    """Stateful evaluation of one rule set; ``state`` (pending ``for`` timers, last firings) lives per engine."""

    def __init__(self, ruleset: RuleSet, *, state_from: RuleEngine | None = None) -> None:
        self.ruleset = ruleset
        self._by_kind: dict[str, tuple[Rule, ...]] = {
            kind: tuple(r for r in ruleset.rules if r.kind == kind and r.enabled) for kind in FIELDS
        }
        self._pending: dict[tuple[str, tuple], float] = {}
        self._last_true: dict[tuple[str, tuple], float] = {}
        self._last_fired: dict[tuple[str, tuple], float] = {}
        self._lock = threading.Lock()
        if state_from is not None:
            self._carry_state(state_from)

    def _carry_state(self, old: RuleEngine) -> None:
        """Keep ``for`` timers and repeat suppression of rules a reload left unchanged, so a reload neither
        restarts a pending alert nor lets a merged report fire again."""
        before = {r.id: r.spec for r in old.ruleset.rules}
        same = {r.id for r in self.ruleset.rules if before.get(r.id) == r.spec}
        with old._lock:
            for mine, theirs in (
                (self._pending, old._pending),
                (self._last_true, old._last_true),
                (self._last_fired, old._last_fired),
            ):
                mine.update({key: at for key, at in theirs.items() if key[0] in same})

    def evaluate(self, kind: str, event: Mapping[str, Any], at: float = 0.0) -> list[Firing]:
        """Rules of ``kind`` that fire for ``event`` at time ``at`` (seconds)."""
        if kind not in self._by_kind:
            raise ValueError(f"unknown rule kind {kind!r}; the kinds are {sorted(self._by_kind)}")
        out = []
        for rule in self._by_kind[kind]:
            firing = self._step(rule, event, at)
            if firing is not None:
                out.append(firing)
        return out

    def run(self, kind: str, events: Iterable[tuple[float, Mapping[str, Any]]]) -> list[Firing]:
        return [f for at, event in events for f in self.evaluate(kind, event, at)]

    def _lingers(self, rule: Rule, key: tuple, at: float) -> bool:
        last = self._last_true.get(key)
        return bool(rule.keep_firing_s) and last is not None and at - last <= rule.keep_firing_s

    def _step(self, rule: Rule, event: Mapping[str, Any], at: float) -> Firing | None:
        holds = rule.condition(event) is True
        timed = rule.for_s or rule.keep_firing_s
        if not holds and not timed:
            return None  # the common case: nothing to remember, no lock taken
        fields = SERIES.get(rule.kind, ()) + rule.group_by
        key = (rule.id, tuple(str(field_value(event, g)) for g in fields)) if fields else (rule.id, ())
        with self._lock:
            if not timed:
                held_for = 0.0
            elif holds:
                since = self._pending.setdefault(key, at)
                if at - since < rule.for_s:
                    return None
                self._last_true[key] = at  # the last time it was firing, for keep_firing_for
                held_for = at - since
            elif self._lingers(rule, key, at):
                held_for = 0.0  # still firing for keep_firing_for; its `for` timer is kept
            else:
                self._pending.pop(key, None)
                return None
            previous = self._last_fired.get(key) if rule.interval_s else None
            suppressed = previous is not None and at - previous < rule.interval_s
            if rule.interval_s and not suppressed:
                self._last_fired[key] = at
        return Firing(
            rule.id,
            rule.group,
            rule.condition.source,
            {f: field_value(event, f) for f in sorted(rule.condition.fields)},
            dict(rule.spec.get("then", {})),
            {k: render(v, event) for k, v in rule.spec.get("labels", {}).items()},
            {k: render(v, event) for k, v in rule.spec.get("annotations", {}).items()},
            rule.spec.get("severity", "warning"),
            at,
            suppressed,
            self.ruleset.version,
            rule.condition.thresholds,
            held_for,
        )
