"""Reading rule YAML safely, two ways that agree: a fast path (a Rust YAML parser and a Rust JSON Schema validator)
for the usual valid file, and a locating path (PyYAML's composer, no object construction) that knows the
``line:col`` of every value and reports every problem. Both read YAML 1.2 core scalars (``yes`` is text, not a
boolean; dates are text) and refuse tags; anchors are expanded within a node budget."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from rules.errors import RuleFileError

if TYPE_CHECKING:
    import jsonschema_rs

MAX_DEPTH = 20
MAX_NODES = 1_000_000
#: a tag, an anchor or an alias; these go the locating way, which checks them (false alarms only cost time)
_SPECIAL = re.compile(r"(?:^|[\s\[{,])[!&*][^\s,\]}]", re.MULTILINE)
#: plain data only: a tag such as ``!!python/object`` is refused, never constructed
_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}

#: where a value sits in the file: the keys and indexes leading to it
NodePath = tuple[str | int, ...]
#: per path, the (line, col) of its value; per path + ``"key"``, of its key; per path + ``"style"``, a scalar's
#: quoting as ``(style,)``
Marks = dict[NodePath, tuple[Any, ...]]


class _SchemaError(Protocol):
    """What :func:`schema_problems` reads of a ``jsonschema`` error."""

    absolute_path: Sequence[str | int]
    validator: str
    instance: Any  # the part of the file that is wrong: any JSON value
    schema: dict[str, Any]
    message: str


class _SchemaValidator(Protocol):
    """What :func:`schema_problems` needs of a ``jsonschema`` validator."""

    def iter_errors(self, instance: object) -> Iterator[_SchemaError]: ...


class _CoreLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML with the YAML 1.2 core schema's implicit types (the 1.1 extras yes/no/on/off, 1:30, dates are text)."""


_CoreLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$", "-+0123456789"),
    (
        "float",
        r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$",
        "-+0123456789.",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    _CoreLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def fast_load(text: str, schema: dict[str, Any]) -> Any | None:
    """The data of a clean, schema-valid file, or None: then read it with :func:`locate` for the problems.

    Only on the main thread: ``yaml_rs`` 0.1.6 segfaulted in a Ray Serve replica's worker thread (a rule file
    checked from the console killed the replica; docs/decisions.md). Other threads (request handlers, the alias
    follower) take the PyYAML way, which is slower on a 10,000-rule file but cannot take the process down."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if any(c in text for c in "!&*") and _SPECIAL.search(text):
        return None
    import yaml_rs

    try:
        data = yaml_rs.loads(text)
    except Exception:
        return None
    if not _plain_and_shallow(data, 0) or not _rs_validator(schema).is_valid(data):
        return None
    return data


def _plain_and_shallow(value: object, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_and_shallow(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_and_shallow(v, depth + 1) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def locate(text: str, source: str, schema: dict[str, Any], needs: str) -> tuple[Any, Marks]:
    """YAML text → plain data and the (line, col) of every path, checked against ``schema``; every problem is
    raised at once as ``file:line:col: message``."""
    try:
        node = yaml.compose(text, Loader=_CoreLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else f"{source}:1:1"
        raise RuleFileError([f"{where}: YAML error: {exc.problem}"]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character, say)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise RuleFileError(
            [f"{source}:{line}:{column}: YAML error: {exc.reason} (character {exc.character!r})"]
        ) from None
    if node is None:
        raise RuleFileError([f"{source}:1:1: the file is empty; it needs {needs}"])
    marks: Marks = {}
    data = _Plain(source, marks).convert(node, (), 0)
    problems = schema_problems(data, marks, source, schema)
    if problems:
        raise RuleFileError(problems)
    return data, marks


class _Plain:
    """The composed YAML as plain data, recording (line, col) of every path; aliases are expanded as copies
    within :data:`MAX_NODES` (a "billion laughs" file is refused, not expanded)."""

    def __init__(self, source: str, marks: Marks) -> None:
        self.source, self.marks, self.nodes = source, marks, 0

    def fail(self, node: yaml.Node, message: str) -> RuleFileError:
        return RuleFileError([f"{self.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: {message}"])

    def convert(self, node: yaml.Node, path: NodePath, depth: int) -> object:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"the file expands to more than {MAX_NODES} values (anchors and aliases?)")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        if node.tag not in _SAFE_TAGS:
            raise self.fail(node, f"YAML tag {node.tag!r} is not allowed in a rule file")
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, object] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in out:
                    raise self.fail(key_node, f"key {key!r} appears twice in this mapping")
                self.marks[(*path, key, "key")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.convert(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        self.marks[(*path, "style")] = (getattr(node, "style", None),)
        return node.value if node.tag.endswith(":str") else _CoreLoader("").construct_object(node)


def schema_problems(data: object, marks: Marks, source: str, schema: dict[str, Any]) -> list[str]:
    out = []
    for error in sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            line, col = marks.get((*path, extra[0], "key") if extra else path, marks.get(path, (1, 1)))
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            out.append(f"{source}:{line}:{col}: unknown key {extra[0]!r}; allowed here: {allowed}")
            continue
        line, col = marks.get(path, (1, 1))
        where = "/".join(map(str, path)) or "top level"
        out.append(f"{source}:{line}:{col}: {where}: {error.message}")
    return out


_VALIDATORS: dict[str, _SchemaValidator] = {}
_RS_VALIDATORS: dict[str, jsonschema_rs.Validator] = {}


def _validator(schema: dict[str, Any]) -> _SchemaValidator:
    import jsonschema

    key = schema["$id"]
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema.Draft202012Validator(schema)
    return _VALIDATORS[key]


def _rs_validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    import jsonschema_rs

    key = schema["$id"]
    if key not in _RS_VALIDATORS:
        _RS_VALIDATORS[key] = jsonschema_rs.validator_for(schema)
    return _RS_VALIDATORS[key]
