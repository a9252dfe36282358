"""Load a rule file: YAML composed safely (no object construction), validated against the JSON Schema and the
expression rules, every problem reported as ``file:line:col: message``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from registry import ValidationError
from rules.expressions import CompiledExpression, ExpressionError, compile_expression
from rules.schema import FIELDS, SCHEMA, TESTS_SCHEMA

MAX_FILE_BYTES = 5 * 1024 * 1024
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: 10x faster
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str | int | float | None) -> float:
    """``30s``/``10m``/``24h``/``2d`` (the schema's duration pattern) or a number of seconds."""
    if duration is None or duration == "":
        return 0.0
    if isinstance(duration, int | float):
        return float(duration)
    return float(int(duration[:-1]) * _UNITS[duration[-1]])


MAX_YAML_DEPTH = 20


class RuleFileError(ValidationError):
    """A rule file that cannot be used; ``problems`` lists every ``file:line:col: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Rule:
    id: str
    group: str
    kind: str
    condition: CompiledExpression
    spec: dict[str, Any] = field(default_factory=dict)

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
    tests: tuple[tuple[str, dict[str, Any]], ...] = ()
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


def parse_tests(text: str, source: str, ruleset: RuleSet) -> tuple[tuple[str, dict[str, Any]], ...]:
    """Tests from a file beside the rules; each names its ``group``."""
    data, marks = compose(text, source, TESTS_SCHEMA, "a 'tests' list")
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


def _unknown_rules(ids: dict[str, set[str]], tests: list, marks: dict, prefix: tuple, source: str) -> list[str]:
    """Expectations that name a rule the group does not have (a typo would make a test pass vacuously)."""
    problems = []
    for i, (group, test) in enumerate(tests):
        for j, expected in enumerate(test["expect"]):
            rule = expected if isinstance(expected, str) else expected["rule"]
            if rule not in ids.get(group, set()):
                where = _at(marks, (*prefix, i, "expect", j))
                problems.append(f"{source}:{where}: test expects rule {rule!r}, which group {group!r} does not have")
    return problems


def _at(marks: dict, path: tuple) -> str:
    line, col = marks.get(path, (1, 1))
    return f"{line}:{col}"


def parse_rules(text: str, source: str = "<rules>", *, version: str | None = None) -> RuleSet:
    data, marks = compose(text, source, SCHEMA, "a 'groups' list")
    problems: list[str] = []
    rules, tests = [], []
    for g, group in enumerate(data["groups"]):
        fields = FIELDS[group["kind"]]
        for r, spec in enumerate(group["rules"]):
            at = ("groups", g, "rules", r, "when")
            try:
                condition = compile_expression(spec["when"], fields)
            except ExpressionError as exc:
                line, col = marks.get(at, (1, 1))
                quote = 1 if marks.get((*at, "style"), (None,))[0] in ("'", '"') else 0
                problems.append(f"{source}:{line}:{col + quote + exc.column - 1}: {exc}")
                continue
            rules.append(Rule(spec["id"], group["name"], group["kind"], condition, spec))
        tests += [(group["name"], t) for t in group.get("tests", [])]
        ids = {group["name"]: {spec["id"] for spec in group["rules"]}}
        tests_here = [(group["name"], t) for t in group.get("tests", [])]
        problems += _unknown_rules(ids, tests_here, marks, ("groups", g, "tests"), source)
    seen: dict[str, tuple[int, int]] = {}
    for g, group in enumerate(data["groups"]):
        for r, spec in enumerate(group["rules"]):
            line, col = marks.get(("groups", g, "rules", r, "id"), (1, 1))
            if spec["id"] in seen:
                problems.append(
                    f"{source}:{line}:{col}: rule id {spec['id']!r} is already used at line {seen[spec['id']][0]}"
                )
            seen.setdefault(spec["id"], (line, col))
    if problems:
        raise RuleFileError(problems)
    return RuleSet(source, tuple(rules), tuple(tests), version)


def compose(text: str, source: str, schema: dict[str, Any], needs: str) -> tuple[Any, dict]:
    """YAML text → plain data and the (line, col) of every path, checked against ``schema``."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else f"{source}:1:1"
        raise RuleFileError([f"{where}: YAML error: {exc.problem}"]) from None
    if node is None:
        raise RuleFileError([f"{source}:1:1: the file is empty; it needs {needs}"])
    data, marks = _plain(node, (), {}, 0, source)
    problems = _schema_problems(data, marks, source, schema)
    if problems:
        raise RuleFileError(problems)
    return data, marks


def _plain(node: yaml.Node, path: tuple, marks: dict, depth: int, source: str) -> tuple[Any, dict]:
    """The composed YAML as plain data, with (line, col) of every path; anchors/aliases become plain copies."""
    if depth > MAX_YAML_DEPTH:
        raise RuleFileError(
            [
                f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: nesting deeper "
                f"than {MAX_YAML_DEPTH} levels"
            ]
        )
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if node.tag not in _SAFE_TAGS:
        where = f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        raise RuleFileError([f"{where}: YAML tag {node.tag!r} is not allowed in a rule file"])
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            marks[(*path, key, "key")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key], _ = _plain(value_node, (*path, key), marks, depth + 1, source)
        return out, marks
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), marks, depth + 1, source)[0] for i, item in enumerate(node.value)], marks
    marks[(*path, "style")] = (getattr(node, "style", None),)
    return _scalar(node, source), marks


#: plain data only: a tag such as ``!!python/object`` is refused, never constructed
_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


def _scalar(node: yaml.Node, source: str) -> Any:
    if node.tag.endswith(":str"):
        return node.value
    return yaml.SafeLoader("").construct_object(node)


def _schema_problems(data: Any, marks: dict, source: str, schema: dict[str, Any]) -> list[str]:
    out = []
    for error in sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            key_path = (*path, extra[0], "key") if extra else path
            line, col = marks.get(key_path, marks.get(path, (1, 1)))
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            out.append(f"{source}:{line}:{col}: unknown key {extra[0]!r}; allowed here: {allowed}")
            continue
        line, col = marks.get(path, (1, 1))
        where = "/".join(map(str, path)) or "top level"
        out.append(f"{source}:{line}:{col}: {where}: {error.message}")
    return out


_VALIDATORS: dict[str, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    import jsonschema

    if schema["$id"] not in _VALIDATORS:
        _VALIDATORS[schema["$id"]] = jsonschema.Draft202012Validator(schema)
    return _VALIDATORS[schema["$id"]]
