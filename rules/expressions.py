"""Safe rule conditions: a small expression language parsed with ``ast`` (parsing only) and compiled to
closures over a whitelist of node types. Rule text is never passed to ``eval``/``exec``; there is no attribute
access to Python objects (dotted names are field paths into the event), no calls but the functions listed in
``FUNCTIONS``, no power operator, comprehension or lambda, and size/depth/constant limits bound the cost.

>>> expr = compile_expression("category == '燃气安全' or contains(text, '煤气味')", {"category", "text"})
>>> expr({"category": "市容环境", "text": "楼道里有煤气味"})
True
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from registry import ValidationError
from rules.errors import did_you_mean

MAX_LENGTH = 2_000
MAX_NODES = 300
MAX_DEPTH = 24
MAX_INT = 10**15
MAX_STR = 1_000
MAX_LIST = 256
#: the largest integer and the longest text or list an arithmetic step may produce while a rule is evaluated
MAX_RESULT = 10**30
MAX_RESULT_ITEMS = 100_000

#: a compiled part of a condition: its value for an event. Events are JSON, so the value is any JSON value (or
#: what the functions and operators make of them).
Evaluator = Callable[[Mapping[str, object]], Any]
#: a function a condition may call, with the event's values as arguments
Function = Callable[..., object]


class ExpressionError(ValidationError):
    """An expression that is not allowed or does not parse; ``column`` is 1-based within the expression,
    ``reason`` the message without it and ``hint`` what to do (``did you mean 'text'?``), if anything."""

    def __init__(self, message: str, *, expression: str, column: int = 1, hint: str | None = None) -> None:
        self.expression, self.column, self.reason, self.hint = expression, column, message, hint
        super().__init__(f"{message} (at column {column} of {expression!r})")


def _contains(text: object, *needles: object) -> bool:
    return isinstance(text, str) and any(isinstance(n, str) and n in text for n in needles)


FUNCTIONS: dict[str, Function] = {
    "contains": _contains,  # contains(text, '煤气', '燃气'): any of the needles occurs
    "len": lambda value: len(value) if isinstance(value, str | list | tuple) else 0,
    "abs": abs,
    "min": min,
    "max": max,
    "lower": lambda value: value.lower() if isinstance(value, str) else value,
}

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


@dataclass(frozen=True)
class CompiledExpression:
    """A compiled condition: call it with the event's fields; ``fields`` lists the paths it reads and
    ``thresholds`` the comparisons of a field with a constant (``value > 150``), for explanations; ``held`` says
    which of them an event meets."""

    source: str
    fields: frozenset[str]
    evaluate: Evaluator
    thresholds: tuple[str, ...] = ()
    comparisons: tuple[Evaluator, ...] = ()  #: one per threshold, in the same order

    def __call__(self, context: Mapping[str, object]) -> object:
        return _safely(self.evaluate, context)

    def held(self, context: Mapping[str, object]) -> tuple[str, ...]:
        """The thresholds ``context`` meets: of ``a > 1 or b < 2`` the side that made the condition hold."""
        return tuple(
            t for t, compare in zip(self.thresholds, self.comparisons, strict=True) if _safely(compare, context)
        )


def _safely(evaluate: Evaluator, context: Mapping[str, object]) -> object:
    try:
        return evaluate(context)
    except (TypeError, ZeroDivisionError, ValueError):
        return None  # a missing or mistyped value makes the condition not hold, never crashes the engine


def compile_expression(
    source: str,
    fields: Collection[str],
    functions: Mapping[str, Function] = FUNCTIONS,
) -> CompiledExpression:
    """Validate and compile ``source`` against the declared ``fields`` (dotted paths such as ``reporter.count``).
    Compiled conditions are immutable, so a reload reuses those it has seen (cached by text and fields)."""
    if functions is FUNCTIONS and isinstance(source, str):
        return _compile_default(source, frozenset(fields))
    return _compile(source, fields, functions)


@functools.lru_cache(maxsize=65_536)
def _compile_default(source: str, fields: frozenset[str]) -> CompiledExpression:
    return _compile(source, fields, FUNCTIONS)


def _compile(source: str, fields: Collection[str], functions: Mapping[str, Function]) -> CompiledExpression:
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("the condition is empty", expression=str(source))
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the condition is longer than {MAX_LENGTH} characters", expression=source[:40] + "…")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        column = exc.offset or len(source.strip()) + 1  # 0 means "at the end": the expression is cut short
        lead = len(source) - len(source.lstrip())
        raise ExpressionError(f"syntax error: {exc.msg}", expression=source, column=column + lead) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("the condition cannot be parsed", expression=source) from None
    compiler = _Compiler(source, frozenset(fields), functions)
    evaluate = compiler.compile(tree.body, 1)
    thresholds: dict[str, Evaluator] = {}
    for text, compare in compiler.thresholds:
        thresholds.setdefault(text, compare)  # each text once
    return CompiledExpression(source, frozenset(compiler.used), evaluate, tuple(thresholds), tuple(thresholds.values()))


class _Compiler:
    def __init__(self, source: str, fields: frozenset[str], functions: Mapping[str, Function]) -> None:
        self.source, self.fields, self.functions = source, fields, functions
        self.used: set[str] = set()
        self.thresholds: list[tuple[str, Evaluator]] = []
        self.text, self.nodes = source.strip().encode(), 0  # ast offsets count UTF-8 bytes

    def fail(self, node: ast.AST, message: str, hint: str | None = None) -> ExpressionError:
        """The error at the node's column, counted in characters of the condition as written."""
        chars = len(self.text[: getattr(node, "col_offset", 0)].decode(errors="ignore"))
        lead = len(self.source) - len(self.source.lstrip())
        return ExpressionError(message, expression=self.source, column=lead + chars + 1, hint=hint)

    def compile(self, node: ast.AST, depth: int) -> Evaluator:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"the condition has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"the condition nests deeper than {MAX_DEPTH} levels")
        method: Callable[[ast.AST, int], Evaluator] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, f"{_describe(node)} is not allowed in a rule condition")
        return method(node, depth + 1)

    def _Constant(self, node: ast.Constant, depth: int) -> Evaluator:
        value = node.value
        if isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int) and abs(value) > MAX_INT:
            raise self.fail(node, f"integer {str(value)[:20]}… is larger than {MAX_INT}")
        elif isinstance(value, str) and len(value) > MAX_STR:
            raise self.fail(node, f"text constant is longer than {MAX_STR} characters")
        elif not isinstance(value, int | float | str):
            raise self.fail(node, f"constant of type {type(value).__name__} is not allowed")
        return lambda ctx: value

    def _Name(self, node: ast.Name, depth: int) -> Evaluator:
        return self._field(node, node.id)

    def _Attribute(self, node: ast.Attribute, depth: int) -> Evaluator:
        parts = [node.attr]
        inner: ast.AST = node.value
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            inner = inner.value
        if not isinstance(inner, ast.Name):
            raise self.fail(node, "attributes are only allowed on field names, e.g. reporter.count")
        return self._field(node, ".".join([inner.id, *reversed(parts)]))

    def _field(self, node: ast.AST, path: str) -> Evaluator:
        if any(part.startswith("_") for part in path.split(".")):
            raise self.fail(node, f"{path!r}: names starting with '_' are not allowed")
        if path in ("True", "False", "None"):
            value = {"True": True, "False": False, "None": None}[path]
            return lambda ctx: value
        if path not in self.fields:
            hint = did_you_mean(path, self.fields)
            raise self.fail(node, f"unknown field {path!r}; the fields are {sorted(self.fields)}", hint)
        self.used.add(path)
        return _lookup(path)

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> Evaluator:
        parts = [self.compile(v, depth) for v in node.values]
        both = isinstance(node.op, ast.And)
        if len(parts) == 2:
            a, b = parts
            return (lambda ctx: bool(a(ctx) and b(ctx))) if both else (lambda ctx: bool(a(ctx) or b(ctx)))
        if both:
            return lambda ctx: all(p(ctx) for p in parts)
        return lambda ctx: any(p(ctx) for p in parts)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Evaluator:
        operand = self.compile(node.operand, depth)
        if isinstance(node.op, ast.Not):
            return lambda ctx: not operand(ctx)
        if isinstance(node.op, ast.USub):
            return lambda ctx: -operand(ctx)
        raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")

    def _BinOp(self, node: ast.BinOp, depth: int) -> Evaluator:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed (use + - * / %)")
        repeats = (ast.List, ast.Tuple, ast.JoinedStr)
        if isinstance(node.op, ast.Mult) and any(
            isinstance(n, repeats) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
            for n in (node.left, node.right)
        ):
            raise self.fail(node, "repeating text or lists with * is not allowed")
        if isinstance(node.op, ast.Mod) and (
            isinstance(node.left, ast.JoinedStr)
            or (isinstance(node.left, ast.Constant) and isinstance(node.left.value, str))
        ):
            raise self.fail(node, "formatting text with % is not allowed")
        left, right = self.compile(node.left, depth), self.compile(node.right, depth)
        if isinstance(node.op, ast.Mult):
            return lambda ctx: _bounded(_bounded_multiply(left(ctx), right(ctx)))
        if isinstance(node.op, ast.Mod):
            return lambda ctx: _bounded(_bounded_modulo(left(ctx), right(ctx)))
        return lambda ctx: _bounded(op(left(ctx), right(ctx)))

    def _Compare(self, node: ast.Compare, depth: int) -> Evaluator:
        if any(type(o) not in _COMPARE for o in node.ops):
            raise self.fail(node, "'is' comparisons are not allowed; use == or !=")
        operands = [node.left, *node.comparators]
        pairs = [self._pair(operands[i], op, operands[i + 1], depth) for i, op in enumerate(node.ops)]
        for i, op in enumerate(node.ops):
            threshold = _threshold(operands[i], op, operands[i + 1], self.text)
            if threshold:
                self.thresholds.append((threshold, pairs[i]))
        if len(pairs) == 1:
            return pairs[0]
        return lambda ctx: all(pair(ctx) for pair in pairs)  # chained: a < b <= c

    def _pair(self, left: ast.AST, op: ast.cmpop, right: ast.AST, depth: int) -> Evaluator:
        """One comparison, specialised for the common ``field op constant`` (the constant folded in)."""
        compare = _COMPARE[type(op)]
        lhs = self.compile(left, depth)
        if not _is_constant(right):
            rhs = self.compile(right, depth)
            return lambda ctx: compare(lhs(ctx), rhs(ctx))
        value = self.compile(right, depth)({})
        if isinstance(op, ast.In | ast.NotIn) and isinstance(value, list) and all(isinstance(v, str) for v in value):
            members = frozenset(value)  # texts hash; a set lookup instead of a scan
            if isinstance(op, ast.In):
                return lambda ctx: lhs(ctx) in members
            return lambda ctx: lhs(ctx) not in members
        return lambda ctx: compare(lhs(ctx), value)

    def _List(self, node: ast.List | ast.Tuple, depth: int) -> Evaluator:
        if len(node.elts) > MAX_LIST:
            raise self.fail(node, f"lists are limited to {MAX_LIST} items")
        items = [self.compile(e, depth) for e in node.elts]
        return lambda ctx: [item(ctx) for item in items]

    _Tuple = _List

    def _IfExp(self, node: ast.IfExp, depth: int) -> Evaluator:
        test, body, other = (self.compile(n, depth) for n in (node.test, node.body, node.orelse))
        return lambda ctx: body(ctx) if test(ctx) else other(ctx)

    def _Call(self, node: ast.Call, depth: int) -> Evaluator:
        if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
            name = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
            hint = did_you_mean(name, self.functions)
            raise self.fail(node, f"function {name!r} is not available; use one of {sorted(self.functions)}", hint)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "function calls take plain positional arguments only")
        function = self.functions[node.func.id]
        args = [self.compile(a, depth) for a in node.args]
        if len(args) == 1:
            (a,) = args
            return lambda ctx: function(a(ctx))
        if len(args) == 2:
            a, b = args
            return lambda ctx: function(a(ctx), b(ctx))
        return lambda ctx: function(*[a(ctx) for a in args])


def _lookup(path: str) -> Evaluator:
    """A field of the event; ``reporter.count`` walks nested mappings, a missing step gives None."""
    if "." not in path:
        return lambda ctx: ctx.get(path)
    keys = path.split(".")
    if len(keys) == 2:
        first, second = keys

        def nested(ctx: Mapping[str, object]) -> object:
            inner = ctx.get(first)
            return inner.get(second) if isinstance(inner, Mapping) else None

        return nested

    def deep(ctx: Mapping[str, object]) -> object:
        value: object = ctx
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    return deep


_SYMBOLS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in"}
_SYMBOLS[ast.NotIn] = "not in"
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _threshold(left: ast.AST, op: ast.cmpop, right: ast.AST, text: bytes) -> str | None:
    """``field op constant`` (constant on either side) as text, e.g. ``forecast.max > 150``; else None."""
    symbol = _SYMBOLS[type(op)]
    if _is_constant(right) and not _is_constant(left):
        return f"{_text(left, text)} {symbol} {_text(right, text)}"
    if _is_constant(left) and not _is_constant(right) and symbol not in ("in", "not in"):
        return f"{_text(right, text)} {_MIRROR.get(symbol, symbol)} {_text(left, text)}"
    return None


def _text(node: ast.AST, text: bytes) -> str:
    """The node's own source text (a slice on one-line conditions, which is cheap), else its unparsed form."""
    if getattr(node, "lineno", 0) == getattr(node, "end_lineno", -1) == 1:
        return text[node.col_offset : node.end_col_offset].decode()  # type: ignore[attr-defined]
    return ast.unparse(node)


def _is_constant(node: ast.AST) -> bool:
    if isinstance(node, ast.List | ast.Tuple):
        return all(_is_constant(e) for e in node.elts)
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
    )


def _bounded_multiply(a: Any, b: Any) -> Any:
    if isinstance(a, str | list) or isinstance(b, str | list):
        raise TypeError("repeating text or lists is not allowed")
    return a * b


def _bounded_modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes) or isinstance(b, str | bytes):  # '%4000000000d' % 1 would allocate gigabytes
        raise TypeError("formatting text with % is not allowed")
    return a % b


def _bounded(value: Any) -> Any:
    """Every arithmetic result stays small: integers within MAX_RESULT, text and lists within their limits
    (``+`` joins values an event carries; a condition's parts are bounded by MAX_NODES)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_RESULT:
        raise ValueError(f"an arithmetic result exceeds {MAX_RESULT}")
    if isinstance(value, str | list | tuple) and len(value) > MAX_RESULT_ITEMS:
        raise ValueError(f"an arithmetic result is longer than {MAX_RESULT_ITEMS}")
    return value


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "a lambda",
        "ListComp": "a comprehension",
        "SetComp": "a comprehension",
        "DictComp": "a comprehension",
        "GeneratorExp": "a generator",
        "Subscript": "indexing",
        "NamedExpr": "assignment (:=)",
        "Await": "await",
        "Yield": "yield",
        "JoinedStr": "an f-string",
        "Starred": "unpacking",
        "Dict": "a dict",
        "Set": "a set",
        "Slice": "slicing",
    }
    return names.get(type(node).__name__, type(node).__name__)
