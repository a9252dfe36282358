"""Load a rule file: YAML composed safely (no object construction), validated against the JSON Schema and the
expression rules, every problem reported as ``file:line:col: message``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry import ValidationError
from rules.expressions import CompiledExpression, ExpressionError, compile_expression
from rules.schema import FIELDS, SCHEMA

MAX_FILE_BYTES = 5 * 1024 * 1024
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


@dataclass(frozen=True)
class RuleSet:
    source: str
    rules: tuple[Rule, ...]
    tests: tuple[tuple[str, dict[str, Any]], ...] = ()


def load_rules(path: Path) -> RuleSet:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RuleFileError([f"{path}:1:1: the file is larger than {MAX_FILE_BYTES} bytes"])
    return parse_rules(path.read_text(encoding="utf-8"), str(path))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else f"{source}:1:1"
        raise RuleFileError([f"{where}: YAML error: {exc.problem}"]) from None
    if node is None:
        raise RuleFileError([f"{source}:1:1: the file is empty; it needs a 'groups' list"])
    data, marks = _plain(node, (), {}, 0, source)
    problems = _schema_problems(data, marks, source)
    if problems:
        raise RuleFileError(problems)
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
    return RuleSet(source, tuple(rules), tuple(tests))


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


_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}


def _scalar(node: yaml.Node, source: str) -> Any:
    """Plain values only: a tag such as ``!!python/object`` is refused, never constructed."""
    if node.tag not in _SAFE_TAGS:
        where = f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        raise RuleFileError([f"{where}: YAML tag {node.tag!r} is not allowed in a rule file"])
    if node.tag.endswith(":str"):
        return node.value
    return yaml.SafeLoader("").construct_object(node)


def _schema_problems(data: Any, marks: dict, source: str) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
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
