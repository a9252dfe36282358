"""Every problem of a rule file in one pass, each at its ``line:col``: what ``citymind rules validate`` prints and
the console's editor underlines. Errors (the file cannot be used): YAML, every schema problem, every expression
problem (each unknown field with the nearest one), duplicate ids, tests naming unknown rules. Warnings (a linter's):
``and``/``or`` mixed without parentheses, rules that never fire or that another makes redundant, thresholds and
values the backtest data never reaches.

>>> [p.render("r.yaml") for p in check_rules("groups:\\n  - {name: g, kind: alert, rules: [{id: a, when: valu > 1}]}")]
["r.yaml:2:50: error: unknown field 'valu' (did you mean 'value'?)"]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rules.errors import Problem
from rules.lint import DataProfile, lint_condition
from rules.reading import Examined, RuleRef, examine, examine_tests, rule_ids, without_gc_pauses
from rules.shadowing import Candidate, shadowed

__all__ = ["Problem", "check_rules", "check_tests"]


def check_rules(
    text: str,
    source: str = "<rules>",
    *,
    rows: Sequence[Mapping[str, object]] | None = None,
    kind_rows: Mapping[str, Sequence[Mapping[str, object]]] | None = None,
) -> list[Problem]:
    """Every error and warning of the rule file ``text``, sorted by position. ``rows`` are backtest events (a
    CSV's rows), ``kind_rows`` the same per rule kind; with them, thresholds and values outside what the data
    holds are warned. Never raises: a file it cannot read is one problem at 1:1."""
    try:
        with without_gc_pauses():
            examined = examine(text)
            warnings = _warnings(examined, rows, kind_rows)
    except Exception as exc:  # a bug in a check must not hide the file's problems from the author: say it, at 1:1
        return [_failed(exc)]
    return sorted(examined.errors + warnings, key=lambda p: (p.line, p.column, p.severity != "error"))


def check_tests(text: str, rules_text: str) -> list[Problem]:
    """Every problem of a test file beside a rule file (``pingdu.test.yaml``): schema, unknown groups and rules."""
    try:
        return examine_tests(text, rule_ids(examine(rules_text).reading.data))[1]
    except Exception as exc:  # as in check_rules
        return [_failed(exc)]


def _failed(exc: Exception) -> Problem:
    message = f"the checks failed on this file ({type(exc).__name__}: {exc}); please report it"[:500]
    return Problem(1, 1, "error", message, code="internal")


def _warnings(
    examined: Examined,
    rows: Sequence[Mapping[str, object]] | None,
    kind_rows: Mapping[str, Sequence[Mapping[str, object]]] | None,
) -> list[Problem]:
    profiles = {kind: DataProfile(r) for kind, r in (kind_rows or {}).items()}
    everywhere = DataProfile(rows) if rows is not None else None
    out: list[Problem] = []
    by_group: dict[int, list[tuple[RuleRef, Candidate]]] = {}
    for ref in examined.compiled:
        lint = lint_condition(ref.when, ref.kind, profiles.get(ref.kind, everywhere))
        for finding in lint.findings:
            line, col = examined.place(ref.path, ref.when, finding.offset)
            out.append(Problem(line, col, "warning", finding.message, finding.hint, finding.code))
        candidate = Candidate(
            str(ref.spec.get("id", "?")), examined.at((*ref.path[:-1], "id"))[0], ref.spec, lint.facts, lint.shape
        )
        if ref.named:  # a rule with an unknown name is no rule to compare others with
            by_group.setdefault(ref.group, []).append((ref, candidate))
    for members in by_group.values():
        for i, message in shadowed([c for _, c in members]).items():
            ref = members[i][0]
            line, col = examined.at((*ref.path[:-1], "id"))
            out.append(Problem(line, col, "warning", message, code="shadowed"))
    return out
