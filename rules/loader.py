"""Load a rule file: YAML composed safely (no object construction), validated against the JSON Schema and the
expression rules. A clean file takes the fast way; any problem sends it through :func:`rules.reading.examine`,
which raises every error as ``file:line:col: message`` (:func:`rules.checks.check_rules` adds the warnings)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from rules.errors import RuleFileError
from rules.expressions import CompiledExpression, ExpressionError, compile_expression
from rules.reading import MAX_FILE_BYTES, examine, examine_tests, without_gc_pauses
from rules.schema import FIELDS, SCHEMA, RuleFile, RuleSpec, RuleTest
from rules.yaml_source import fast_load

__all__ = ["MAX_FILE_BYTES", "Rule", "RuleFileError", "RuleSet", "load_rules", "parse_rules", "parse_tests"]

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
    return with_tests(ruleset, _read(beside), str(beside)) if beside.is_file() else ruleset


def with_tests(ruleset: RuleSet, text: str, source: str) -> RuleSet:
    """``ruleset`` with the tests of a file beside it (``text``) added to its own."""
    return replace(ruleset, tests=ruleset.tests + parse_tests(text, source, ruleset))


def tests_beside(path: Path) -> Path:
    return path.with_suffix(".test" + path.suffix)


def is_test_file(path: Path) -> bool:
    return path.name.endswith((".test.yaml", ".test.yml"))


def rule_file_of(path: Path) -> Path:
    """The rule file a ``*.test.yaml`` belongs to (the one beside it); a rule file is its own."""
    return path.with_name(path.name.replace(".test.", ".", 1)) if is_test_file(path) else path


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RuleFileError([f"{path}:1:1: the file is larger than {MAX_FILE_BYTES} bytes; split it"])
    return path.read_text(encoding="utf-8")


def parse_tests(text: str, source: str, ruleset: RuleSet) -> tuple[tuple[str, RuleTest], ...]:
    """Tests from a file beside the rules; each names its ``group``."""
    ids: dict[str, set[str]] = {}
    for rule in ruleset.rules:
        ids.setdefault(rule.group, set()).add(rule.id)
    data, problems = examine_tests(text, ids)
    if problems:
        raise RuleFileError.of(problems, source)
    return tuple((t["group"], t) for t in data["tests"])


def parse_rules(text: str, source: str = "<rules>", *, version: str | None = None) -> RuleSet:
    """Rules from YAML text. A clean file takes the fast way; any problem sends it the locating way, which
    reports every problem as ``file:line:col: message``."""
    with without_gc_pauses():
        return _parse(text, source, version)


def _parse(text: str, source: str, version: str | None) -> RuleSet:
    data = fast_load(text, SCHEMA)
    ruleset = None if data is None else _build(data, source, version)
    if ruleset is not None:
        return ruleset
    examined = examine(text)
    if examined.errors:
        raise RuleFileError.of(sorted(examined.errors, key=lambda p: p.position), source)
    ruleset = _build(examined.reading.data, source, version)
    if ruleset is None:  # examine checks all _build does; a file that passes one passes the other
        raise RuleFileError([f"{source}:1:1: the rule file could not be built; please report this file"])
    return ruleset


def _build(data: RuleFile, source: str, version: str | None) -> RuleSet | None:
    """Compile every rule; None at the first problem (the locating way then finds them all, at their place)."""
    rules, tests, seen = [], [], set()
    for group in data["groups"]:
        fields, ids = FIELDS[group["kind"]], set()
        for spec in group["rules"]:
            try:
                condition = compile_expression(spec["when"], fields)
            except ExpressionError:
                return None
            if spec["id"] in seen:
                return None
            seen.add(spec["id"])
            ids.add(spec["id"])
            rules.append(Rule(spec["id"], group["name"], group["kind"], condition, spec))
        for test in group.get("tests", []):
            if any((e if isinstance(e, str) else e["rule"]) not in ids for e in test["expect"]):
                return None
            tests.append((group["name"], test))
    return RuleSet(source, tuple(rules), tuple(tests), version)
