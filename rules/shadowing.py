"""Rules of a group that another makes redundant. Every rule that holds fires and the engine keeps the most urgent
decision, so a rule is redundant when another of its group fires whenever it does (the same condition, or one its
condition implies, read by :mod:`rules.constraints`) with the same timing and a decision at least as urgent.

Not covered (no warning, never a false one): implication that needs arithmetic, ``not``, functions other than
``contains``, or the rule's own ``or`` split into cases; rules in different groups; files whose groups hold so many
rules that comparing every pair would cost more than :data:`MAX_PAIRS` checks (then only identical conditions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.constraints import Conjunction
from rules.schema import RuleSpec

MAX_PAIRS = 200_000
_SEVERITY = {"info": 0, "warning": 1, "critical": 2}
_TIMING = ("for", "keep_firing_for", "interval", "group_by")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Candidate:
    """A rule as the shadowing check reads it: ``line`` is where its id is, for the message."""

    id: str
    line: int
    spec: RuleSpec
    facts: Conjunction
    shape: str


def shadowed(rules: Sequence[Candidate]) -> dict[int, str]:
    """Per index of a redundant rule of one group, why (the message names the rule that covers it)."""
    live = [(i, r) for i, r in enumerate(rules) if r.spec.get("enabled", True) is not False]
    out: dict[int, str] = {}
    first: dict[tuple[str, str], Candidate] = {}
    for i, rule in live:
        key = (rule.shape, _timing(rule.spec))
        if key in first:
            out[i] = f"rule {rule.id!r} has the same condition as {first[key].id!r} (line {first[key].line}): " + (
                "they always fire together; merge them into one rule"
            )
        first.setdefault(key, rule)
    if len(live) ** 2 > MAX_PAIRS:
        return out
    for i, rule in live:
        cover = next((other for j, other in live if j != i and i not in out and _covers(other, rule)), None)
        if cover is not None:
            out[i] = (
                f"whenever {rule.id!r} fires, {cover.id!r} (line {cover.line}) fires too with a decision at least "
                f"as urgent: {rule.id!r} changes nothing"
            )
    return out


def _covers(other: Candidate, rule: Candidate) -> bool:
    """``other`` fires whenever ``rule`` does, timed alike, deciding at least as urgently (and not the reverse
    case of an equivalent rule listed later, which is the one reported)."""
    if other.shape == rule.shape or _timing(other.spec) != _timing(rule.spec):
        return False
    if not set(other.facts.fields) <= set(rule.facts.fields) or not rule.facts.implies(other.facts):
        return False
    if not _dominates(other.spec, rule.spec):
        return False
    mutual = other.facts.implies(rule.facts) and _dominates(rule.spec, other.spec)
    return not mutual or other.line < rule.line


def _timing(spec: RuleSpec) -> str:
    return repr([spec.get(key) for key in _TIMING])


def _dominates(strong: RuleSpec, weak: RuleSpec) -> bool:
    """``strong``'s firing decides at least what ``weak``'s does: severity, then, labels and annotations."""
    if _SEVERITY.get(str(weak.get("severity", "warning")), 1) > _SEVERITY.get(
        str(strong.get("severity", "warning")), 1
    ):
        return False
    if not _within(weak.get("labels", {}), strong.get("labels", {})):
        return False
    if not _within(weak.get("annotations", {}), strong.get("annotations", {})):
        return False
    mine, theirs = dict(weak.get("then", {})), dict(strong.get("then", {}))
    for key, value in mine.items():
        given = theirs.get(key)
        if given is None:
            return False
        if key == "priority" and str(given) > str(value):
            return False
        if key in ("sla", "escalate_after") and _seconds(given) > _seconds(value):
            return False
        if key not in ("priority", "sla", "escalate_after") and given != value:
            return False
    return True


def _within(weak: Mapping[str, str], strong: Mapping[str, str]) -> bool:
    return all(strong.get(k) == v for k, v in weak.items())


def _seconds(duration: object) -> float:
    text = str(duration)
    if text[:-1].isdigit() and text[-1:] in _UNITS:
        return float(int(text[:-1]) * _UNITS[text[-1]])
    return float("inf")
