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

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TEMPLATE = re.compile(r"\{([A-Za-z][\w.]*)\}")


def seconds(duration: str | None) -> float:
    return float(int(duration[:-1]) * _UNITS[duration[-1]]) if duration else 0.0


@dataclass(frozen=True)
class Firing:
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

    def explain(self) -> str:
        seen = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.rule}: {self.condition} held with {seen}"


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

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._pending: dict[tuple[str, tuple], float] = {}
        self._last_true: dict[tuple[str, tuple], float] = {}
        self._last_fired: dict[tuple[str, tuple], float] = {}
        self._lock = threading.Lock()

    def evaluate(self, kind: str, event: Mapping[str, Any], at: float = 0.0) -> list[Firing]:
        """Rules of ``kind`` that fire for ``event`` at time ``at`` (seconds)."""
        out = []
        for rule in self.ruleset.rules:
            if rule.kind == kind and rule.enabled:
                firing = self._step(rule, event, at)
                if firing is not None:
                    out.append(firing)
        return out

    def run(self, kind: str, events: Iterable[tuple[float, Mapping[str, Any]]]) -> list[Firing]:
        return [f for at, event in events for f in self.evaluate(kind, event, at)]

    def _step(self, rule: Rule, event: Mapping[str, Any], at: float) -> Firing | None:
        key = (rule.id, tuple(str(field_value(event, g)) for g in rule.spec.get("group_by", [])))
        holds = rule.condition(event) is True
        with self._lock:
            if holds:
                self._pending.setdefault(key, at)
                self._last_true[key] = at
            else:
                self._pending.pop(key, None)
            since = self._pending.get(key)
            active = since is not None and at - since >= seconds(rule.spec.get("for"))
            last_true = self._last_true.get(key)
            lingering = (
                not holds
                and last_true is not None
                and rule.spec.get("keep_firing_for")
                and at - last_true <= seconds(rule.spec.get("keep_firing_for"))
            )
            if not (active or lingering):
                return None
            interval = seconds(rule.spec.get("interval"))
            previous = self._last_fired.get(key)
            suppressed = bool(interval) and previous is not None and at - previous < interval
            if not suppressed:
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
        )
