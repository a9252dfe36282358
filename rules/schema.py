"""The rule file format as a JSON Schema (published by ``citymind rules schema`` for editor autocompletion) and
the fields each kind of rule may read."""

from __future__ import annotations

import math
from typing import Any, Literal, NotRequired, Required, TypedDict

Severity = Literal["info", "warning", "critical"]


class Then(TypedDict, total=False):
    """What a rule decides when it fires (``then:``); every value is text (durations such as ``30m``)."""

    priority: Literal["P1", "P2", "P3", "P4"]
    department: str
    sla: str
    escalate_after: str
    transfer: Literal["110", "119", "120", "122"]
    queue: Literal["manual-review"]


#: one rule as the file gives it (``for`` is a Python keyword, hence the functional form). A file always gives
#: ``id`` and ``when``; a :class:`rules.loader.Rule` built by hand may carry an empty spec.
RuleSpec = TypedDict(
    "RuleSpec",
    {
        "id": str,
        "title": str,
        "description": str,
        "enabled": bool,
        "severity": Severity,
        "owner": str,
        "when": str,
        "for": str,
        "keep_firing_for": str,
        "then": Then,
        "labels": dict[str, str],
        "annotations": dict[str, str],
        "group_by": list[str],
        "interval": str,
    },
    total=False,
)


class Expected(TypedDict, total=False):
    """A rule a test expects to fire, and what its firing must carry (each key given must match)."""

    rule: Required[str]
    severity: Severity
    then: dict[str, object]
    labels: dict[str, str]
    annotations: dict[str, str]


class RuleTest(TypedDict):
    """One rule test; its events are whatever the file gives (``t``: when each is evaluated)."""

    name: str
    input: dict[str, Any] | list[dict[str, Any]]
    expect: list[str | Expected]
    group: NotRequired[str]  # in a test file beside the rules; inside a group, the group it sits in


class GroupSpec(TypedDict):
    name: str
    kind: str
    rules: list[RuleSpec]
    tests: NotRequired[list[RuleTest]]


class RuleFile(TypedDict):
    """A rule file as :data:`SCHEMA` accepts it."""

    groups: list[GroupSpec]


FIELDS: dict[str, frozenset[str]] = {
    "dispatch": frozenset(
        {
            "category",
            "confidence",
            "text",
            "area",
            "hour",
            "weekday",
            "channel",
            "department",
            "reporter.id",
            "reporter.count",
            "reporter.vulnerable",
            "duplicates",
        }
    ),
    "alert": frozenset(
        {
            "indicator",
            "value",
            "forecast.max",
            "forecast.min",
            "forecast.mean",
            "forecast.hours",
            "forecast.upper_max",
            "forecast.lower_min",
            "area",
            "hour",
            # the self-watch's series (docs/event_engine.md): reports per area × category, drift per model version
            "category",
            "expected.mean",
            "expected.lower",
            "expected.upper",
            "model",
            "version",
            "measure",
            "events",
        }
    ),
    "video": frozenset({"camera", "zone", "label", "count", "dwell_s", "crossings", "hour"}),
    # a recorded event past its SLA (clock "sla") or its escalate_after without being accepted ("escalate")
    "overdue": frozenset(
        {"category", "area", "department", "priority", "kind", "clock", "overdue_h", "hour", "returns", "reassigns"}
    ),
}

#: what the platform knows a field takes, per kind: a number range (a threshold beyond it never or always holds)
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "dispatch": {
        "confidence": (0.0, 1.0),
        "hour": (0, 23),
        "weekday": (1, 7),  # ISO: Monday is 1
        "reporter.count": (0, math.inf),
        "duplicates": (0, math.inf),
    },
    "alert": {"hour": (0, 23), "forecast.hours": (0, math.inf)},
    "video": {"count": (0, math.inf), "dwell_s": (0, math.inf), "crossings": (0, math.inf), "hour": (0, 23)},
    "overdue": {"hour": (0, 23), "overdue_h": (0, math.inf), "returns": (0, math.inf), "reassigns": (0, math.inf)},
}
#: ... and the closed sets of values it takes (comparing it with anything else never holds)
VALUES: dict[str, dict[str, tuple[str | bool, ...]]] = {
    "dispatch": {"reporter.vulnerable": (True, False)},
    "overdue": {"priority": ("P1", "P2", "P3", "P4"), "clock": ("sla", "escalate")},
}

_DURATION = {"type": "string", "pattern": r"^\d+(s|m|h|d)$", "description": "e.g. 30s, 10m, 24h, 2d"}
_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "when"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-_.]{0,63}$"},
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "enabled": {"type": "boolean"},
        "severity": {"enum": ["info", "warning", "critical"]},
        "owner": {"type": "string", "maxLength": 100},
        "when": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "a condition over the fields"},
        "for": {**_DURATION, "description": "alert: the condition must hold this long before firing"},
        "keep_firing_for": _DURATION,
        "then": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "priority": {"enum": ["P1", "P2", "P3", "P4"]},
                "department": {"type": "string"},
                "sla": _DURATION,
                "escalate_after": _DURATION,
                "transfer": {"enum": ["110", "119", "120", "122"]},
                "queue": {"enum": ["manual-review"]},
            },
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2000}},
        "group_by": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
        "interval": _DURATION,
    },
}
_EXPECTED = {
    "oneOf": [
        {"type": "string", "description": "a rule id"},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["rule"],
            "description": "a rule id and what its firing must carry (each key given must match)",
            "properties": {
                "rule": {"type": "string"},
                "severity": {"enum": ["info", "warning", "critical"]},
                "then": {"type": "object"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    ]
}
_TEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "input", "expect"],
    "properties": {
        "name": {"type": "string"},
        "input": {
            "description": "one event, or a sequence of events evaluated in order; `t` is the evaluation time "
            "of each (seconds, or a duration such as 2h)",
            "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}, "minItems": 1}],
        },
        "expect": {
            "type": "array",
            "items": _EXPECTED,
            "description": "the rules that fire on the (last) event; nothing else may fire",
        },
    },
}
#: a test file beside a rule file (``pingdu.yaml`` → ``pingdu.test.yaml``): tests naming their group
TESTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://citymind.example/schemas/rule-tests.json",
    "title": "citymind rule tests",
    "type": "object",
    "additionalProperties": False,
    "required": ["tests"],
    "properties": {
        "tests": {
            "type": "array",
            "items": {
                **_TEST,
                "required": ["group", *_TEST["required"]],
                "properties": {"group": {"type": "string"}, **_TEST["properties"]},
            },
        }
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://citymind.example/schemas/rules.json",
    "title": "citymind rule file",
    "type": "object",
    "additionalProperties": False,
    "required": ["groups"],
    "properties": {
        "groups": {
            "type": "array",
            "minItems": 1,
            "maxItems": 500,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "kind", "rules"],
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"enum": sorted(FIELDS)},
                    "rules": {"type": "array", "items": _RULE, "maxItems": 20_000},
                    "tests": {"type": "array", "items": _TEST},
                },
            },
        },
    },
}
