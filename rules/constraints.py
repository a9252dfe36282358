"""What a condition says about each field, read syntactically from its parsed form: an interval for numbers,
a set of allowed or excluded values for texts and booleans. Enough to see that ``x > 5 and x < 3`` never holds
and that ``confidence < 0.3`` implies ``confidence < 0.5``; anything else (arithmetic, ``not``, functions other
than ``contains``) is an opaque part, equal only to itself."""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import NamedTuple, TypeGuard

#: a text, number or boolean a condition compares a field with
Value = str | int | float | bool
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}


class Span(NamedTuple):
    """The numbers a field may take: from ``lo`` to ``hi``, each end open or closed (a tuple: built by the
    thousand when a large file is checked)."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False

    def __and__(self, other: object) -> Span:
        assert isinstance(other, Span)
        lo, lo_open = self.lo, self.lo_open
        if other.lo > lo or (other.lo == lo and other.lo_open):
            lo, lo_open = other.lo, other.lo_open
        hi, hi_open = self.hi, self.hi_open
        if other.hi < hi or (other.hi == hi and other.hi_open):
            hi, hi_open = other.hi, other.hi_open
        return Span(lo, hi, lo_open, hi_open)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))

    def within(self, other: Span) -> bool:
        lo_ok = self.lo > other.lo or (self.lo == other.lo and (self.lo_open or not other.lo_open))
        hi_ok = self.hi < other.hi or (self.hi == other.hi and (self.hi_open or not other.hi_open))
        return lo_ok and hi_ok

    def holds(self, value: float) -> bool:
        above = value > self.lo or (value == self.lo and not self.lo_open)
        below = value < self.hi or (value == self.hi and not self.hi_open)
        return above and below


class Constraint(NamedTuple):
    """What a conjunction requires of one field: a number span, and/or the values it must (``only``) or must not
    (``never``) equal."""

    span: Span = Span()
    only: frozenset[Value] | None = None
    never: frozenset[Value] = frozenset()

    def __and__(self, other: object) -> Constraint:
        assert isinstance(other, Constraint)
        only = other.only if self.only is None else self.only if other.only is None else self.only & other.only
        return Constraint(self.span & other.span, only, self.never | other.never)

    @property
    def empty(self) -> bool:
        if self.span.empty:
            return True
        if self.only is None:
            return False
        left = [v for v in self.only if v not in self.never]
        numbers = [float(v) for v in left if _number(v)]
        restricted = self.span != Span()
        return not left or (restricted and len(numbers) == len(left) and not any(map(self.span.holds, numbers)))

    def within(self, other: Constraint) -> bool:
        """Every value this allows, ``other`` allows too."""
        if not self.span.within(other.span) and self.only is None:
            return False
        mine = None if self.only is None else {v for v in self.only if v not in self.never}
        if other.only is not None and (mine is None or not mine <= other.only):
            return False
        if other.never and not all(v in self.never or (mine is not None and v not in mine) for v in other.never):
            return False
        return mine is None or other.span == Span() or all(_number(v) and other.span.holds(float(v)) for v in mine)


@dataclass
class Atom:
    """One comparison of a field with constants: its text, its character offset in the condition, the
    constraint it puts on the field, and each constant with its offset."""

    path: str
    text: str
    offset: int
    constraint: Constraint
    constants: list[tuple[Value, int]]


@dataclass
class Conjunction:
    """The parts that must all hold: field constraints (with the atoms that made each), ``contains`` needles per
    text argument (any of them occurs), opaque parts by their parsed form, and ``or`` parts (their alternatives)."""

    fields: dict[str, Constraint] = field(default_factory=dict)
    atoms: dict[str, list[Atom]] = field(default_factory=dict)
    contains: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    opaque: set[str] = field(default_factory=set)
    alternatives: list[tuple[str, int, list[Conjunction]]] = field(default_factory=list)

    def require(self, atom: Atom) -> None:
        held = self.fields.get(atom.path)
        self.fields[atom.path] = atom.constraint if held is None else held & atom.constraint
        self.atoms.setdefault(atom.path, []).append(atom)

    def implies(self, other: Conjunction) -> bool:
        """Whenever this holds, ``other`` holds (judged part by part; ``False`` when it cannot tell)."""
        for path, wanted in other.fields.items():
            if path not in self.fields or not self.fields[path].within(wanted):
                return False
        for arg, needles in other.contains:
            if not any(a == arg and mine <= needles for a, mine in self.contains):
                return False
        if not other.opaque <= self.opaque:
            return False
        mine = {key for key, _, _ in self.alternatives}
        return all(key in mine or any(self.implies(alt) for alt in alts) for key, _, alts in other.alternatives)


class Reader:
    """Reads a parsed condition into a :class:`Conjunction`; ``offset`` maps a node to its character offset."""

    def __init__(self, text: str, lead: int) -> None:
        self.text, self.lead = text, lead
        self.lines = text.split("\n")
        self.simple = len(self.lines) == 1 and text.isascii()  # ast's byte offsets are then character offsets

    def offset(self, node: ast.AST) -> int:
        return self._at(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def end(self, node: ast.AST) -> int:
        return self._at(getattr(node, "end_lineno", 1) or 1, getattr(node, "end_col_offset", 0) or 0)

    def _at(self, lineno: int, col: int) -> int:
        if self.simple:
            return self.lead + col
        before = sum(len(line) + 1 for line in self.lines[: lineno - 1])
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return self.lead + before + len(line.encode()[:col].decode(errors="ignore"))

    def segment(self, node: ast.AST) -> str:
        return self.text[self.offset(node) - self.lead : self.end(node) - self.lead]

    def read(self, node: ast.AST, into: Conjunction | None = None) -> Conjunction:
        out = Conjunction() if into is None else into
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            for value in node.values:
                self.read(value, out)
        elif isinstance(node, ast.BoolOp):
            out.alternatives.append((ast.dump(node), self.offset(node), [self.read(v) for v in node.values]))
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                self._compare(operands[i], op, operands[i + 1], out)
        elif _needles(node) is not None:
            assert isinstance(node, ast.Call)
            out.contains.append((ast.dump(node.args[0]), _needles(node) or frozenset()))
        else:
            out.opaque.add(ast.dump(node))
        return out

    def _compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr, out: Conjunction) -> None:
        if path_of(left) is None and path_of(right) is not None and type(op) in _FLIP:
            left, op, right = right, _FLIP[type(op)](), left
        path, value = path_of(left), constant(right)
        made = None if path is None or value is None else _constraint(op, value)
        if made is None:
            out.opaque.add(ast.dump(ast.Compare(left, [op], [right])))
            return
        assert path is not None and value is not None
        start, end = min(self.offset(left), self.offset(right)), max(self.end(left), self.end(right))
        items = right.elts if isinstance(right, ast.List | ast.Tuple) else [right]
        constants = [(v, self.offset(n)) for n in items if (v := constant(n)) is not None and not isinstance(v, tuple)]
        out.require(Atom(path, self.text[start - self.lead : end - self.lead], start, made, constants))


def path_of(node: ast.AST) -> str | None:
    """``reporter.count`` for a field path, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def constant(node: ast.AST) -> Value | tuple[Value, ...] | None:
    """A constant (a negative number, a list of constants) or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        inner = node.operand.value
        return -float(inner) if _number(inner) else None
    if isinstance(node, ast.List | ast.Tuple):
        items = [constant(e) for e in node.elts]
        return tuple(i for i in items if i is not None and not isinstance(i, tuple)) if None not in items else None
    return None


def _constraint(op: ast.cmpop, value: Value | tuple[Value, ...]) -> Constraint | None:
    if isinstance(value, tuple):
        if isinstance(op, ast.In):
            return Constraint(only=frozenset(value))
        return Constraint(never=frozenset(value)) if isinstance(op, ast.NotIn) else None
    if isinstance(op, ast.Eq):
        return Constraint(Span(float(value), float(value)) if _number(value) else Span(), only=frozenset([value]))
    if isinstance(op, ast.NotEq):
        return Constraint(never=frozenset([value]))
    if not _number(value):
        return None
    bound = float(value)
    spans = {
        ast.Lt: Span(hi=bound, hi_open=True),
        ast.LtE: Span(hi=bound),
        ast.Gt: Span(lo=bound, lo_open=True),
        ast.GtE: Span(lo=bound),
    }
    span = spans.get(type(op))
    return None if span is None else Constraint(span)


def _needles(node: ast.AST) -> frozenset[str] | None:
    """The needles of ``contains(x, 'a', 'b')`` when they are all texts, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "contains"):
        return None
    if len(node.args) < 2 or node.keywords:
        return None
    needles = [constant(a) for a in node.args[1:]]
    return frozenset(n for n in needles if isinstance(n, str)) if all(isinstance(n, str) for n in needles) else None


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
