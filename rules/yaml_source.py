"""Reading rule YAML safely, two ways that agree: a fast path (a Rust YAML parser and a Rust JSON Schema validator)
for the usual valid file, and a locating path (PyYAML's composer, no object construction) that knows the
``line:col`` of every value and reports every problem. Both read YAML 1.2 core scalars (``yes`` is text, not a
boolean; dates are text) and refuse tags; anchors are expanded within a node budget."""

from __future__ import annotations

import re
import reprlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from rules.errors import Problem, RuleFileError, did_you_mean

if TYPE_CHECKING:
    import jsonschema_rs

MAX_DEPTH = 20
MAX_NODES = 1_000_000
#: a tag, an anchor or an alias; these go the locating way, which checks them (false alarms only cost time)
_SPECIAL = re.compile(r"(?:^|[\s\[{,])[!&*][^\s,\]}]", re.MULTILINE)
#: what a value matching each pattern of the rule schemas looks like
_PATTERN_HINTS = {
    r"^\d+(s|m|h|d)$": "a duration such as 30s, 10m, 24h or 2d",
    r"^[a-z0-9][a-z0-9\-_.]{0,63}$": "lower-case letters, digits and - _ . (e.g. gas-leak-p1), at most 64",
}
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
    """The data of a clean, schema-valid file, or None: then read it with :func:`locate` for the problems."""
    if threading.current_thread() is not threading.main_thread():  # yaml_rs segfaulted a replica off the main thread
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
    reading = read_marked(text, needs)
    problems = reading.problems
    if reading.data is not None and not problems:
        problems = schema_findings(reading, schema)
    if problems:
        raise RuleFileError.of(problems, source)
    return reading.data, reading.marks


@dataclass
class Reading:
    """A YAML file read the locating way: its plain data (None when nothing could be read), the marks, the
    problems found while reading, and the paths whose value was dropped for one of them (a refused tag, a key
    given twice, too deep): the schema says nothing more about those."""

    data: Any
    marks: Marks = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    dropped: set[NodePath] = field(default_factory=set)


def read_marked(text: str, needs: str) -> Reading:
    """Compose ``text`` safely and convert it to plain data with marks; never raises on any text."""
    try:
        node = yaml.compose(text, Loader=_CoreLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Reading(None, problems=[_error(line, col, f"YAML error: {exc.problem}", code="yaml")])
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        message = f"YAML error: character U+{code:04X} is not allowed in a YAML file ({exc.reason})"
        return Reading(None, problems=[_error(line, col, message, code="yaml")])
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as exc:
        where = _line_col(text, getattr(exc, "start", 0))
        return Reading(None, problems=[_error(*where, f"the file cannot be read as YAML: {exc}"[:300], code="yaml")])
    if node is None:
        return Reading(None, problems=[_error(1, 1, f"the file is empty; it needs {needs}", code="yaml")])
    plain = _Plain()
    try:
        data = plain.convert(node, (), 0)
    except _Budget as exc:
        return Reading(None, plain.marks, [exc.problem])
    return Reading(data, plain.marks, plain.problems, plain.dropped)


def _line_col(text: str, position: int) -> tuple[int, int]:
    position = max(0, min(position, len(text)))
    return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)


def _error(line: int, col: int, message: str, hint: str | None = None, code: str = "schema") -> Problem:
    return Problem(line, col, "error", message, hint, code)


class _Budget(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Plain:
    """The composed YAML as plain data, recording (line, col) of every path; aliases are expanded as copies
    within :data:`MAX_NODES` (a "billion laughs" file is refused, not expanded). A refused tag, a key given twice
    or nesting too deep is a problem and its value is dropped; reading goes on."""

    def __init__(self) -> None:
        self.marks: Marks = {}
        self.problems: list[Problem] = []
        self.dropped: set[NodePath] = set()
        self.nodes = 0

    def drop(self, node: yaml.Node, path: NodePath, message: str) -> object:
        """Record the problem; the value read in its place is None."""
        self.problems.append(_error(node.start_mark.line + 1, node.start_mark.column + 1, message, code="yaml"))
        self.dropped.add(path)
        return None

    def convert(self, node: yaml.Node, path: NodePath, depth: int) -> object:
        self.nodes += 1
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if self.nodes > MAX_NODES:
            message = f"the file expands to more than {MAX_NODES} values (anchors and aliases?)"
            raise _Budget(_error(*where, message, code="yaml"))
        self.marks[path] = where
        if depth > MAX_DEPTH:
            return self.drop(node, path, f"nesting deeper than {MAX_DEPTH} levels")
        if node.tag not in _SAFE_TAGS:
            return self.drop(node, path, f"YAML tag {node.tag!r} is not allowed in a rule file")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        self.marks[(*path, "style")] = (getattr(node, "style", None),)
        return node.value if node.tag.endswith(":str") else _CoreLoader("").construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: NodePath, depth: int) -> dict[str, object]:
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                self.drop(key_node, (*path, key), f"key {key!r} appears twice in this mapping")
                continue
            self.marks[(*path, key, "key")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.convert(value_node, (*path, key), depth + 1)
        return out


def schema_problems(data: object, marks: Marks, source: str, schema: dict[str, Any]) -> list[str]:
    """Every way ``data`` breaks ``schema``, each as ``file:line:col: message``."""
    return [p.located(source) for p in schema_findings(Reading(data, marks), schema)]


def schema_findings(reading: Reading, schema: dict[str, Any]) -> list[Problem]:
    """Every way the data breaks ``schema``, at its place, with the nearest allowed key or value as a hint."""
    out: list[Problem] = []
    if _plain_and_shallow(reading.data, 0) and _rs_validator(schema).is_valid(reading.data):
        return out  # the Rust validator agrees in a fraction of the time; the Python one says where
    for error in _validator(schema).iter_errors(reading.data):
        path = tuple(error.absolute_path)
        if any(path[:i] in reading.dropped for i in range(len(path) + 1)):
            continue
        out += _finding(error, path, reading.marks)
    return sorted(out, key=lambda p: p.position)


def _finding(error: _SchemaError, path: NodePath, marks: Marks) -> list[Problem]:
    line, col = marks.get(path, (1, 1))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        extras = [k for k in error.instance if k not in allowed]
        listed = ", ".join(sorted(allowed))
        out = []
        for key in extras:
            at_line, at_col = marks.get((*path, key, "key"), (line, col))
            message = f"unknown key {key!r}; allowed here: {listed}"
            out.append(_error(at_line, at_col, message, did_you_mean(key, allowed), "unknown-key"))
        return out
    where = "/".join(map(str, path)) or "top level"
    return [_error(line, col, f"{where}: {_short(error)}", _hint(error))]


def _hint(error: _SchemaError) -> str | None:
    """The nearest allowed value; a number where text is wanted (``transfer: 119``); what a pattern wants."""
    if error.validator == "pattern":
        return _PATTERN_HINTS.get(str(error.schema.get("pattern")))
    if error.validator != "enum":
        return None
    enum = [v for v in error.schema.get("enum", []) if isinstance(v, str)]
    if isinstance(error.instance, int | float) and str(error.instance) in enum:
        return f'write it as text: "{error.instance}"'
    return did_you_mean(error.instance, enum)


def _short(error: _SchemaError) -> str:
    """The validator's message with the offending value cut to a glance (a whole group list would be megabytes)."""
    if len(error.message) <= 300:
        return error.message
    return error.message.replace(repr(error.instance), _REPR.repr(error.instance))


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxdict = 3
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel = 2
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
