"""Rule conditions: what a rule author writes evaluates; every escape attempt is rejected at validation."""

from __future__ import annotations

import pytest

from rules.expressions import ExpressionError, compile_expression

FIELDS = {"category", "confidence", "text", "area", "priority", "reporter.count", "pm25", "forecast.max"}

ESCAPES = [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "text.__class__",
    "category.__len__()",
    "''.__class__.__mro__",
    "text.upper()",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('x=1')",
    "compile('1', 'f', 'eval')",
    "getattr(text, '__class__')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "type(text)",
    "9 ** 9 ** 9",
    "2 ** 100000",
    "pm25 ** 2",
    "'a' * 1000000000",
    "[1] * 1000000000",
    "[x for x in range(10**9)]",
    "{x: x for x in text}",
    "(x for x in text)",
    "lambda: 1",
    "(lambda f: f(f))(lambda f: f(f))",
    "(x := 1)",
    "text[0]",
    "text[::-1]",
    "f'{text}'",
    "{'a': 1}",
    "{1, 2}",
    "*text",
    "1 << 100000",
    "confidence if True else __builtins__",
    "reporter._private",
    "unknown_field > 1",
    "contains(text, key='x')",
    "min(*text)",
    "-" * 100 + "pm25",
    "[" * 30 + "1" + "]" * 30,
    "not " * 100 + "True",
    " + ".join(["1"] * 400),
    "x" * 3000,
    "10000000000000000000 > pm25",
    "category is None",
    "await confidence",
    "import os",
]


def test_corpus_has_at_least_30_attempts() -> None:
    assert len(ESCAPES) >= 30


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_attempt_is_rejected_at_validation(source: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, FIELDS)
    assert "column" in str(info.value)


@pytest.mark.parametrize(
    ("source", "event", "expected"),
    [
        (
            "category == '燃气安全' or contains(text, '煤气味', '燃气泄漏')",
            {"category": "x", "text": "楼道有煤气味"},
            True,
        ),
        ("confidence < 0.5 and area in ['南村镇', '古岘镇']", {"confidence": 0.4, "area": "南村镇"}, True),
        ("reporter.count >= 3", {"reporter": {"count": 5}}, True),
        ("reporter.count >= 3", {"reporter": {}}, None),
        ("forecast.max > 150 and not (pm25 > 300)", {"forecast": {"max": 160}, "pm25": 90}, True),
        ("abs(pm25 - 100) % 7 == 2 if pm25 else False", {"pm25": 116}, True),
        ("len(text) > 3 and lower(area) != 'x'", {"text": "路灯不亮了", "area": "X"}, False),
        ("100 < pm25 <= 200", {"pm25": 150}, True),
    ],
)
def test_conditions_evaluate(source: str, event: dict, expected: object) -> None:
    assert compile_expression(source, FIELDS)(event) == expected


def test_errors_point_into_the_expression() -> None:
    with pytest.raises(ExpressionError, match=r"unknown field 'confidnce'.*at column 18"):
        compile_expression("pm25 > 1 and 2 < confidnce", FIELDS)
    with pytest.raises(ExpressionError, match="syntax error"):
        compile_expression("pm25 >", FIELDS)


def test_fields_read_are_reported() -> None:
    assert compile_expression("pm25 > 1 and reporter.count > 2", FIELDS).fields == {"pm25", "reporter.count"}


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_attempt_in_a_rule_file_is_refused_at_its_place(source: str) -> None:
    import json
    import re

    from rules.loader import RuleFileError, parse_rules

    text = f"groups:\n  - name: g\n    kind: alert\n    rules:\n      - id: x\n        when: {json.dumps(source)}\n"
    with pytest.raises(RuleFileError) as info:
        parse_rules(text, "escape.yaml")
    # every problem of the condition (``getattr(text, ...)`` in an alert rule: the function and the field)
    for problem in info.value.problems:
        line, col = map(int, re.match(r"^escape\.yaml:(\d+):(\d+): ", problem).groups())  # type: ignore[union-attr]
        assert line == 6 and col >= 15, problem
