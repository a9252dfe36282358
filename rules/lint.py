"""What a linter says of one condition that compiles: ``and``/``or`` mixed without parentheses, a condition that
can never hold (contradictory parts, a value outside a field's range or known values), and, given backtest rows,
a threshold outside the range a field takes there or a text value no row has. Each finding is at a character
offset of the condition; :mod:`rules.checks` places it in the file."""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.constraints import Atom, Conjunction, Constraint, Reader, Span, Value
from rules.errors import did_you_mean
from rules.schema import RANGES, VALUES

_OPERATOR = re.compile(r"\b(and|or)\b")


@dataclass(frozen=True)
class Finding:
    """A warning at ``offset`` (0-based, in characters) of the condition."""

    offset: int
    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Lint:
    """One condition read for the linter: its findings and what it requires (for the shadowing check)."""

    findings: list[Finding]
    facts: Conjunction
    shape: str  # the text with its spacing normalised: two conditions that read the same are the same condition


class FieldProfile:
    """What one field takes in the backtest rows: the numbers' range, and the texts when every value is text."""

    def __init__(self, values: list[object]) -> None:
        numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        self.numbers = [n for n in numbers if not math.isnan(n)]
        self.texts = {v for v in values if isinstance(v, str)} if all(isinstance(v, str) for v in values) else None
        self.count = len(values)


class DataProfile:
    """The backtest rows, read per field on first use (a field is a key of the row, or a dotted path into it)."""

    def __init__(self, rows: Sequence[Mapping[str, object]]) -> None:
        self.rows = rows
        self._fields: dict[str, FieldProfile | None] = {}

    def of(self, path: str) -> FieldProfile | None:
        if path not in self._fields:
            values = [v for v in (_value(row, path) for row in self.rows) if v is not None]
            self._fields[path] = FieldProfile(values) if values else None
        return self._fields[path]


def _value(row: Mapping[str, object], path: str) -> object:
    if path in row:
        return row[path]
    value: object = row
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def lint_condition(when: str, kind: str, data: DataProfile | None = None) -> Lint:
    """The warnings of a condition that compiled (so it parses, within the depth and size limits)."""
    stripped = when.strip()
    reader = Reader(stripped, len(when) - len(when.lstrip()))
    tree = ast.parse(stripped, mode="eval").body
    facts = reader.read(tree)
    findings = _mixed(tree, reader) + _never(facts, kind)
    findings += _unknown_values(facts, kind, data)
    if data is not None:
        findings += _thresholds(facts, data)
    return Lint(findings, facts, " ".join(stripped.split()))


def _mixed(tree: ast.AST, reader: Reader) -> list[Finding]:
    """``a and b or c``: ``and`` binds tighter, so an unparenthesised ``and`` can only sit inside an ``or``."""
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or)):
            continue
        bare = [i for i, v in enumerate(node.values) if _bare_and(v, reader)]
        if not bare:
            continue
        i = bare[0]
        j = i - 1 if i > 0 else i + 1
        out.append(
            _mixed_finding(node, i, _operator_at(reader, node.values[min(i, j)], node.values[max(i, j)]), reader)
        )
    return out


def _bare_and(node: ast.AST, reader: Reader) -> bool:
    if not (isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And)):
        return False
    before = reader.text[: reader.offset(node) - reader.lead].rstrip()
    after = reader.text[reader.end(node) - reader.lead :].lstrip()
    return not (before.endswith("(") and after.startswith(")"))


def _operator_at(reader: Reader, left: ast.AST, right: ast.AST) -> int:
    start, end = reader.end(left) - reader.lead, reader.offset(right) - reader.lead
    found = _OPERATOR.search(reader.text, start, end)
    return reader.lead + (found.start() if found else start)


def _mixed_finding(node: ast.BoolOp, i: int, offset: int, reader: Reader) -> Finding:
    parts = [reader.segment(v) for v in node.values]
    grouped = [f"({p})" if _bare_and(v, reader) else p for p, v in zip(parts, node.values, strict=True)]
    others = [p for k, p in enumerate(parts) if not _bare_and(node.values[k], reader)]
    if not others:
        alone = "each `and` group alone makes it hold"
    else:
        alone = "each of " * (len(others) > 1) + ", ".join(f"`{p}`" for p in others) + " alone makes it hold"
    message = f"`and` binds tighter than `or`: this reads `{' or '.join(grouped)}`, so {alone}"
    return Finding(offset, "mixed-and-or", message, _regrouped(node, i, reader))


def _regrouped(node: ast.BoolOp, i: int, reader: Reader) -> str:
    """The other reading, when one ``and`` sits at either end of the ``or``; else a plain instruction."""
    inner = node.values[i]
    assert isinstance(inner, ast.BoolOp)
    head, rest = [reader.segment(v) for v in inner.values], [reader.segment(v) for v in node.values]
    if len(node.values) >= 2 and i == 0 and sum(_bare_and(v, reader) for v in node.values) == 1:
        alt = " and ".join(head[:-1]) + f" and ({' or '.join([head[-1], *rest[1:]])})"
    elif i == len(node.values) - 1 and sum(_bare_and(v, reader) for v in node.values) == 1:
        alt = f"({' or '.join([*rest[:-1], head[0]])}) and " + " and ".join(head[1:])
    else:
        return "add parentheses to say which parts go together"
    return f"add parentheses to say which you mean, e.g. `{alt}`"


@functools.lru_cache(maxsize=1024)
def _domain(kind: str, path: str) -> Constraint:
    if path in VALUES.get(kind, {}):
        return Constraint(only=frozenset(VALUES[kind][path]))
    lo, hi = RANGES.get(kind, {}).get(path, (-math.inf, math.inf))
    return Constraint(Span(lo, hi))


def _never(facts: Conjunction, kind: str) -> list[Finding]:
    """A part that contradicts the field's range or an earlier part; an ``or`` none of whose alternatives hold."""
    out = []
    for path, atoms in facts.atoms.items():
        held, domain = _domain(kind, path), _domain(kind, path)
        for k, atom in enumerate(atoms):
            held = held & atom.constraint
            if held.empty:
                out.append(_contradiction(kind, atom, atoms[:k], domain))
                break
    for _, offset, alternatives in facts.alternatives:
        dead = [bool(_never(alt, kind)) for alt in alternatives]
        if all(dead):
            out.append(Finding(offset, "never-fires", "no alternative of this `or` can hold: the rule never fires"))
        else:
            out += [f for alt, d in zip(alternatives, dead, strict=True) if d for f in _never(alt, kind)]
    return out


def _contradiction(kind: str, atom: Atom, before: list[Atom], domain: Constraint) -> Finding:
    if not (atom.constraint & domain).empty and before:
        earlier = " and ".join(f"`{a.text}`" for a in before)
        return Finding(atom.offset, "never-fires", f"`{atom.text}` contradicts {earlier}: the rule never fires")
    if domain.only is not None:
        known = ", ".join(repr(v) for v in sorted(domain.only, key=str))
        texts = [v for v in domain.only if isinstance(v, str)]
        hint = next((h for v, _ in atom.constants if (h := did_you_mean(v, texts))), None)
        message = f"{atom.path} is one of {known}: `{atom.text}` never holds, so the rule never fires"
        return Finding(atom.offset, "never-fires", message, hint)
    span = domain.span
    message = f"{atom.path} is between {span.lo:g} and {span.hi:g}: `{atom.text}` never holds, so the rule never fires"
    return Finding(atom.offset, "never-fires", message)


def _atoms(facts: Conjunction) -> list[Atom]:
    out = [a for atoms in facts.atoms.values() for a in atoms]
    return out + [a for _, _, alts in facts.alternatives for alt in alts for a in _atoms(alt)]


def _unknown_values(facts: Conjunction, kind: str, data: DataProfile | None) -> list[Finding]:
    """Texts compared with a field that never takes them: per the platform (in lists; ``==`` is
    :func:`_never`'s) or per the backtest rows."""
    out = []
    for atom in _atoms(facts):
        known = VALUES.get(kind, {}).get(atom.path)
        for value, offset in atom.constants:
            if known is not None and value not in known and (len(atom.constants) > 1 or atom.constraint.never):
                message = f"{atom.path} is never {value!r} (it is one of {', '.join(map(repr, known))})"
                out.append(Finding(offset, "unknown-value", message, _hint(value, known)))
            profile = None if data is None or not isinstance(value, str) else data.of(atom.path)
            if profile is not None and profile.texts is not None and value not in profile.texts:
                message = f"no row of the backtest data has {atom.path} {value!r} ({profile.count} rows with one)"
                out.append(Finding(offset, "unknown-value", message, did_you_mean(value, profile.texts)))
    return out


def _hint(value: Value, known: tuple[str | bool, ...]) -> str | None:
    return did_you_mean(value, [k for k in known if isinstance(k, str)])


def _thresholds(facts: Conjunction, data: DataProfile) -> list[Finding]:
    """A number compared with a field, outside the [min, max] the field takes in the rows."""
    out = []
    for atom in _atoms(facts):
        profile = data.of(atom.path)
        if profile is None or not profile.numbers:
            continue
        lo, hi = min(profile.numbers), max(profile.numbers)
        for value, offset in atom.constants:
            if isinstance(value, bool) or not isinstance(value, int | float) or lo <= value <= hi:
                continue
            holds = [atom.constraint.span.holds(lo), atom.constraint.span.holds(hi)]
            verdict = "never holds there" if not any(holds) else "always holds there" if all(holds) else "splits it"
            message = (
                f"{value:g} is outside the range of {atom.path} in the backtest data ({lo:g} to {hi:g}, "
                f"{len(profile.numbers)} rows): `{atom.text}` {verdict}"
            )
            out.append(Finding(offset, "threshold-out-of-range", message))
    return out
