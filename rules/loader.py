"""Load a rule file: YAML composed safely (no object construction), validated against the JSON Schema and the
expression rules, every problem reported as ``file:line:col: message``."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from rules.errors import RuleFileError
from rules.expressions import CompiledExpression, ExpressionError, compile_expression
from rules.schema import FIELDS, SCHEMA, TESTS_SCHEMA, RuleFile, RuleSpec, RuleTest
from rules.yaml_source import Marks, NodePath, fast_load, locate

__all__ = ["Rule", "RuleFileError", "RuleSet", "load_rules", "parse_rules", "parse_tests"]

MAX_FILE_BYTES = 5 * 1024 * 1024
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str | int | float | None) -> float:
    """``30s``/``10m``/``24h``/``2d`` (the schema's duration pattern) or a number of seconds."""
    if duration is None or duration == "":
        return 0.0
    if isinstance(duration, int | float):
        return float(duration)
    return float(int(duration[:-1]) * _UNITS[duration[-1]])


@dataclass(frozen=True)
class Rule:
    id: str
    group: str
    kind: str
    condition: CompiledExpression
    spec: RuleSpec = field(default_factory=RuleSpec)

    @property
    def enabled(self) -> bool:
        return bool(self.spec.get("enabled", True))

    @cached_property
    def for_s(self) -> float:
        return seconds(self.spec.get("for"))

    @cached_property
    def keep_firing_s(self) -> float:
        return seconds(self.spec.get("keep_firing_for"))

    @cached_property
    def interval_s(self) -> float:
        return seconds(self.spec.get("interval"))

    @cached_property
    def group_by(self) -> tuple[str, ...]:
        return tuple(self.spec.get("group_by", ()))


@dataclass(frozen=True)
class RuleSet:
    """A validated rule file; ``version`` names where it came from (``pingdu-rules/3`` when loaded from the
    registry) and travels with every firing."""

    source: str
    rules: tuple[Rule, ...]
    tests: tuple[tuple[str, RuleTest], ...] = ()
    version: str | None = None


def load_rules(path: Path, *, version: str | None = None) -> RuleSet:
    """A rule file and the tests beside it (``pingdu.yaml`` → ``pingdu.test.yaml``), if there are any."""
    ruleset = parse_rules(_read(path), str(path), version=version)
    beside = tests_beside(path)
    if beside.is_file():
        ruleset = replace(ruleset, tests=ruleset.tests + parse_tests(_read(beside), str(beside), ruleset))
    return ruleset


def tests_beside(path: Path) -> Path:
    return path.with_suffix(".test" + path.suffix)


def is_test_file(path: Path) -> bool:
    return path.name.endswith((".test.yaml", ".test.yml"))


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RuleFileError([f"{path}:1:1: the file is larger than {MAX_FILE_BYTES} bytes; split it"])
    return path.read_text(encoding="utf-8")


def parse_tests(text: str, source: str, ruleset: RuleSet) -> tuple[tuple[str, RuleTest], ...]:
    """Tests from a file beside the rules; each names its ``group``."""
    data, marks = locate(text, source, TESTS_SCHEMA, "a 'tests' list")
    groups = {r.group for r in ruleset.rules}
    problems = [
        f"{source}:{_at(marks, ('tests', i, 'group'))}: no group {t['group']!r} in {ruleset.source}; "
        f"the groups are {sorted(groups)}"
        for i, t in enumerate(data["tests"])
        if t["group"] not in groups
    ]
    ids = {g: {r.id for r in ruleset.rules if r.group == g} for g in groups}
    problems += _unknown_rules(ids, [(t["group"], t) for t in data["tests"]], marks, ("tests",), source)
    if problems:
        raise RuleFileError(problems)
    return tuple((t["group"], t) for t in data["tests"])


def _unknown_rules(
    ids: dict[str, set[str]], tests: Sequence[tuple[str, RuleTest]], marks: Marks, prefix: NodePath, source: str
) -> list[str]:
    """Expectations that name a rule the group does not have (a typo would make a test pass vacuously)."""
    problems = []
    for i, (group, test) in enumerate(tests):
        for j, expected in enumerate(test["expect"]):
            rule = expected if isinstance(expected, str) else expected["rule"]
            if rule not in ids.get(group, set()):
                where = _at(marks, (*prefix, i, "expect", j))
                problems.append(f"{source}:{where}: test expects rule {rule!r}, which group {group!r} does not have")
    return problems


def _at(marks: Marks, path: NodePath) -> str:
    line, col = marks.get(path, (1, 1))
    return f"{line}:{col}"


def parse_rules(text: str, source: str = "<rules>", *, version: str | None = None) -> RuleSet:
    """Rules from YAML text. A clean file takes the fast way; any problem sends it the locating way, which
    reports every problem as ``file:line:col: message``."""
    with _without_gc_pauses():
        return _parse(text, source, version)


@contextlib.contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """Parsing allocates many small objects and no cycles worth collecting mid-way; the collector's passes
    took 40% of loading a 10,000-rule file. It runs again as soon as the file is read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(text: str, source: str, version: str | None) -> RuleSet:
    data = fast_load(text, SCHEMA)
    if data is not None:
        try:
            return _build(data, None, source, version)
        except RuleFileError:
            pass
    data, marks = locate(text, source, SCHEMA, "a 'groups' list")
    return _build(data, marks, source, version)


def _build(data: RuleFile, marks: Marks | None, source: str, version: str | None) -> RuleSet:
    """Compile every rule; with ``marks`` None (the fast way) the first problem is raised unlocated."""
    problems: list[str] = []
    rules, tests = [], []
    for g, group in enumerate(data["groups"]):
        fields = FIELDS[group["kind"]]
        for r, spec in enumerate(group["rules"]):
            try:
                condition = compile_expression(spec["when"], fields)
            except ExpressionError as exc:
                if marks is None:
                    raise RuleFileError([str(exc)]) from None
                problems.append(_expression_problem(exc, marks, ("groups", g, "rules", r, "when"), source))
                continue
            rules.append(Rule(spec["id"], group["name"], group["kind"], condition, spec))
        tests_here = [(group["name"], t) for t in group.get("tests", [])]
        ids = {group["name"]: {spec["id"] for spec in group["rules"]}}
        problems += _unknown_rules(ids, tests_here, marks or {}, ("groups", g, "tests"), source)
        tests += tests_here
    problems += _duplicate_ids(data, marks or {}, source)
    if problems:
        raise RuleFileError(problems)
    return RuleSet(source, tuple(rules), tuple(tests), version)


def _expression_problem(exc: ExpressionError, marks: Marks, at: NodePath, source: str) -> str:
    line, col = marks.get(at, (1, 1))
    quote = 1 if marks.get((*at, "style"), (None,))[0] in ("'", '"') else 0
    return f"{source}:{line}:{col + quote + exc.column - 1}: {exc}"


def _duplicate_ids(data: RuleFile, marks: Marks, source: str) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for g, group in enumerate(data["groups"]):
        for r, spec in enumerate(group["rules"]):
            line, col = marks.get(("groups", g, "rules", r, "id"), (1, 1))
            if spec["id"] in seen:
                problems.append(
                    f"{source}:{line}:{col}: rule id {spec['id']!r} is already used at line {seen[spec['id']]}"
                )
            seen.setdefault(spec["id"], line)
    return problems
