"""A rule file read the locating way for its errors, all of them: YAML, schema, every expression (each unknown
field or function with the nearest name), duplicate ids, tests naming rules or groups that do not exist. What
:func:`rules.checks.check_rules` reports and :func:`rules.loader.parse_rules` raises when the fast way fails."""

from __future__ import annotations

import ast
import contextlib
import gc
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rules.constraints import Reader, path_of
from rules.errors import Problem, did_you_mean
from rules.expressions import FUNCTIONS, MAX_LENGTH, CompiledExpression, ExpressionError, compile_expression
from rules.schema import FIELDS, SCHEMA, TESTS_SCHEMA, RuleSpec
from rules.yaml_source import Marks, NodePath, Reading, read_marked, schema_findings

MAX_FILE_BYTES = 5 * 1024 * 1024
_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks


@dataclass(frozen=True)
class RuleRef:
    """A rule whose condition is well formed: where it is (``path`` to its ``when``), its group's index and kind."""

    path: NodePath
    group: int
    kind: str
    spec: RuleSpec
    when: str
    condition: CompiledExpression
    named: bool = True  # every name it uses exists (else its errors say which; the linter still reads its shape)


@dataclass
class Examined:
    """The errors of a rule file, the rules that compiled, and how to place a condition's offset in the file."""

    text: str
    reading: Reading
    errors: list[Problem] = field(default_factory=list)
    compiled: list[RuleRef] = field(default_factory=list)

    def at(self, path: NodePath) -> tuple[int, int]:
        line, col = self.reading.marks.get(path, (1, 1))
        return int(line), int(col)

    @cached_property
    def lines(self) -> list[str]:
        return _BREAK.split(self.text)

    def place(self, path: NodePath, when: str, offset: int) -> tuple[int, int]:
        """The file's line:col of character ``offset`` of the condition at ``path`` (a plain, quoted or block
        scalar; escapes inside a quoted one are not counted)."""
        line, col = self.at(path)
        style = self.reading.marks.get((*path, "style"), (None,))[0]
        if style in ("|", ">"):
            segments = self._block(line)
        else:
            first = (line, col + (1 if style in ("'", '"') else 0))
            segments = [(*first, len(self._line(line)) - first[1] + 1), *self._continued(line)]
        left = max(0, min(offset, len(when)))
        for number, start, length in segments:
            if left <= length:
                return number, start + left
            left -= length + 1
        return line, col

    def _line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def _continued(self, line: int) -> Iterator[tuple[int, int, int]]:
        for number in range(line + 1, min(line + 200, len(self.lines)) + 1):
            body = self._line(number)
            yield number, len(body) - len(body.lstrip()) + 1, len(body.strip())

    def _block(self, line: int) -> list[tuple[int, int, int]]:
        rows = list(self._continued(line))
        indent = next((start for _, start, length in rows if length), 1)
        return [(n, indent, len(self._line(n)) - indent + 1) for n, _, _ in rows]


@contextlib.contextmanager
def without_gc_pauses() -> Iterator[None]:
    """Parsing allocates many small objects and no cycles worth collecting mid-way; the collector's passes
    took 40% of loading a 10,000-rule file. It runs again as soon as the file is read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def examine(text: str) -> Examined:
    """Every error of the rule file ``text``; never raises."""
    if len(text) > MAX_FILE_BYTES // 4 and len(text.encode(errors="replace")) > MAX_FILE_BYTES:
        message = f"the file is larger than {MAX_FILE_BYTES} bytes; split it"
        return Examined(text, Reading(None), [Problem(1, 1, "error", message, code="yaml")])
    reading = read_marked(text, "a 'groups' list")
    examined = Examined(text, reading, list(reading.problems))
    if reading.data is None:
        return examined
    examined.errors += schema_findings(reading, SCHEMA)
    for path, group, kind, spec in _rules(reading.data):
        _compile(examined, path, group, kind, spec)
    examined.errors += _duplicate_ids(reading.data, reading.marks)
    examined.errors += _unknown_rules(reading.data, reading.marks)
    return examined


def examine_tests(text: str, ids: Mapping[str, set[str]]) -> tuple[Any, list[Problem]]:
    """A test file beside the rules (``pingdu.test.yaml``) and every error of it: schema, groups and rules the
    rule file does not have (``ids``: per group, its rule ids)."""
    reading = read_marked(text, "a 'tests' list")
    if reading.data is None:
        return None, reading.problems
    problems = reading.problems + schema_findings(reading, TESTS_SCHEMA)
    for i, test in enumerate(_list(reading.data, "tests")):
        group = test.get("group")
        if isinstance(group, str) and group not in ids:
            message = f"no group {group!r} in the rule file; the groups are {sorted(ids)}"
            line, col = reading.marks.get(("tests", i, "group"), (1, 1))
            problems.append(Problem(line, col, "error", message, did_you_mean(group, ids), "unknown-group"))
        elif isinstance(group, str):
            problems += _unknown_expected(test, ids[group], group, ("tests", i), reading.marks)
    return reading.data, sorted(problems, key=lambda p: p.position)


def _list(value: object, key: str) -> list[dict[str, Any]]:
    items = value.get(key) if isinstance(value, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _rules(data: object) -> Iterator[tuple[NodePath, int, str, RuleSpec]]:
    groups = data.get("groups") if isinstance(data, dict) else None
    for g, group in enumerate(groups if isinstance(groups, list) else []):
        rules = group.get("rules") if isinstance(group, dict) else None
        if not isinstance(group, dict) or group.get("kind") not in FIELDS or not isinstance(rules, list):
            continue
        for r, spec in enumerate(rules):
            when = spec.get("when") if isinstance(spec, dict) else None
            if isinstance(when, str) and when.strip() and len(when) <= MAX_LENGTH:  # else the schema says so
                yield ("groups", g, "rules", r, "when"), g, str(group["kind"]), spec


def _compile(examined: Examined, path: NodePath, group: int, kind: str, spec: RuleSpec) -> None:
    """A construct the language refuses is the condition's one error (names inside ``[x for x in ...]`` are not
    worth a word); a well-formed condition reports every unknown field and function, each with the nearest."""
    when, fields = spec["when"], FIELDS[kind]
    try:  # the usual case, and the loader's: compiled (and cached) as it is
        examined.compiled.append(RuleRef(path, group, kind, spec, when, compile_expression(when, fields)))
        return
    except ExpressionError:
        pass
    unknown = _unknown_names(when, fields)
    names = {n for _, n, f in unknown if not f}
    calls = {n: FUNCTIONS["min"] for _, n, f in unknown if f}
    try:
        condition = compile_expression(when, fields | names, {**FUNCTIONS, **calls} if calls else FUNCTIONS)
    except ExpressionError as exc:
        where = examined.place(path, when, exc.column - 1)
        examined.errors.append(Problem(*where, "error", exc.reason, exc.hint, "expression"))
        return
    for offset, name, function in unknown:
        choices: Collection[str] = FUNCTIONS if function else fields
        hint = did_you_mean(name, choices)
        message = f"function {name!r} is not available" if function else f"unknown field {name!r}"
        if hint is None:  # nothing near: the whole list
            message += f"; use one of {sorted(choices)}" if function else f"; the fields are {sorted(choices)}"
        code = "unknown-function" if function else "unknown-field"
        examined.errors.append(Problem(*examined.place(path, when, offset), "error", message, hint, code))
    examined.compiled.append(RuleRef(path, group, kind, spec, when, condition, named=not unknown))


def _unknown_names(when: str, fields: frozenset[str]) -> list[tuple[int, str, bool]]:
    """Every field and function the condition names that does not exist: (offset, name, is a function)."""
    stripped = when.strip()
    try:
        tree = ast.parse(stripped, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # the compiler says why, at its column
    reader, out = Reader(stripped, len(when) - len(when.lstrip())), list[tuple[int, str, bool]]()
    stack: list[ast.AST] = [tree.body]
    while stack and len(out) < 50:
        node = stack.pop()
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id not in FUNCTIONS and node.func.id[:1] != "_":
                out.append((reader.offset(node), node.func.id, True))
            stack += node.args  # a call of anything but a name is the compiler's error
            continue
        path = path_of(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if path is not None:
            if path not in fields and path not in ("True", "False", "None") and "._" not in f".{path}":
                out.append((reader.offset(node), path, False))
            continue
        stack += list(ast.iter_child_nodes(node))
    return sorted(out)


def rule_ids(data: object) -> dict[str, set[str]]:
    """Per group name, its rule ids (of whatever parts of a file could be read)."""
    out: dict[str, set[str]] = {}
    for group in _list(data, "groups"):
        if isinstance(group.get("name"), str):
            out.setdefault(group["name"], set()).update(
                r["id"] for r in _list(group, "rules") if isinstance(r.get("id"), str)
            )
    return out


def _duplicate_ids(data: object, marks: Marks) -> list[Problem]:
    problems, seen = list[Problem](), dict[str, int]()
    for g, group in enumerate(_list(data, "groups")):
        for r, spec in enumerate(_list(group, "rules")):
            rule = spec.get("id")
            if not isinstance(rule, str):
                continue
            line, col = marks.get(("groups", g, "rules", r, "id"), (1, 1))
            if rule in seen:
                message = f"rule id {rule!r} is already used at line {seen[rule]}"
                problems.append(Problem(line, col, "error", message, code="duplicate-id"))
            seen.setdefault(rule, line)
    return problems


def _unknown_rules(data: object, marks: Marks) -> list[Problem]:
    problems = []
    for g, group in enumerate(_list(data, "groups")):
        ids = {r["id"] for r in _list(group, "rules") if isinstance(r.get("id"), str)}
        for t, test in enumerate(_list(group, "tests")):
            problems += _unknown_expected(test, ids, group.get("name"), ("groups", g, "tests", t), marks)
    return problems


def _unknown_expected(
    test: Mapping[str, object], ids: set[str], group: object, at: NodePath, marks: Marks
) -> list[Problem]:
    """Expectations that name a rule the group does not have (a typo would make a test pass vacuously)."""
    problems = []
    expect = test.get("expect")
    for j, expected in enumerate(expect if isinstance(expect, list) else []):
        rule = expected.get("rule") if isinstance(expected, dict) else expected
        if isinstance(rule, str) and rule not in ids:
            line, col = marks.get((*at, "expect", j), (1, 1))
            message = f"test expects rule {rule!r}, which group {group!r} does not have"
            problems.append(Problem(line, col, "error", message, did_you_mean(rule, ids), "unknown-rule"))
    return problems
