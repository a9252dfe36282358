"""check_rules: every problem of a rule file in one pass, each at its line:col, with the nearest name as a hint,
and a linter's warnings (mixed and/or, never fires, shadowed, outside the backtest data)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rules import Problem, check_rules, check_tests
from rules.loader import RuleFileError, parse_rules

DEFAULTS = Path(__file__).resolve().parents[2] / "rules" / "defaults"

#: the file of issue 22, as a new rule author wrote it: two misspelt fields, an invalid priority, and a condition
#: that fires for every report before 6 am
ISSUE = """groups:
  - name: noise
    kind: dispatch
    rules:
      - id: night-noise
        title: 夜间噪音扰民
        when: category == '噪音扰民' and hour >= 22 or hour < 6
        then: {priority: P2, sla: 24h}
      - id: loud-text
        when: contains(txt, '噪音', '吵')
        then: {priority: p3}
      - id: unsure-noise
        when: "confidance < 0.5 and category == '噪音扰民'"
        then: {queue: manual-review}
"""


def _seen(problems: list[Problem]) -> list[tuple[int, int, str, str, str | None]]:
    return [(p.line, p.column, p.severity, p.code, p.hint) for p in problems]


def test_the_issue_file_gives_every_problem_and_the_warning_in_one_pass() -> None:
    problems = check_rules(ISSUE, "noise.yaml")
    assert _seen(problems) == [
        (7, 49, "warning", "mixed-and-or", "add parentheses to say which you mean, e.g. "
         "`category == '噪音扰民' and (hour >= 22 or hour < 6)`"),
        (10, 24, "error", "unknown-field", "did you mean 'text'?"),
        (11, 26, "error", "schema", "did you mean 'P3'?"),
        (13, 16, "error", "unknown-field", "did you mean 'confidence'?"),
    ]  # fmt: skip
    assert (
        problems[0]
        .render("noise.yaml")
        .startswith(
            "noise.yaml:7:49: warning: `and` binds tighter than `or`: this reads "
            "`(category == '噪音扰民' and hour >= 22) or hour < 6`, so `hour < 6` alone makes it hold"
        )
    )
    assert problems[1].render("noise.yaml") == "noise.yaml:10:24: error: unknown field 'txt' (did you mean 'text'?)"
    # the loader raises the same errors (not the warning), rendered as file:line:col: message (hint)
    with pytest.raises(RuleFileError) as info:
        parse_rules(ISSUE, "noise.yaml")
    assert [p.position for p in info.value.found] == [(10, 24), (11, 26), (13, 16)]
    assert info.value.problems[0] == "noise.yaml:10:24: unknown field 'txt' (did you mean 'text'?)"


def test_errors_of_every_kind_are_reported_together_with_hints() -> None:
    text = """groups:
  - name: g
    kind: dispach
    rules:
      - {id: a, when: 'value > 1'}
  - name: h
    kind: overdue
    rules:
      - id: b
        whn: clock == 'sla'
        severity: critcal
      - id: b
        when: contain(category, '燃气') and overdue_hour > 2
    tests:
      - {name: t, input: {}, expect: [c]}
"""
    problems = check_rules(text, "x.yaml")
    assert all(p.severity == "error" for p in problems)
    assert [(p.line, p.column, p.code, p.hint) for p in problems] == [
        (3, 11, "schema", "did you mean 'dispatch'?"),
        (9, 9, "schema", None),  # 'when' is a required property
        (10, 9, "unknown-key", "did you mean 'when'?"),
        (11, 19, "schema", "did you mean 'critical'?"),
        (12, 13, "duplicate-id", None),
        (13, 15, "unknown-function", "did you mean 'contains'?"),
        (13, 43, "unknown-field", "did you mean 'overdue_h'?"),
        (15, 39, "unknown-rule", None),
    ]


def test_values_the_schema_refuses_say_what_it_wants() -> None:
    text = "groups:\n  - {name: g, kind: dispatch, rules: [{id: Gas Leak, when: 'hour > 1', "
    text += "then: {transfer: 119, sla: 30 min}}]}\n"
    assert [p.hint for p in check_rules(text)] == [
        "lower-case letters, digits and - _ . (e.g. gas-leak-p1), at most 64",
        'write it as text: "119"',
        "a duration such as 30s, 10m, 24h or 2d",
    ]


@pytest.mark.parametrize(
    ("kind", "when", "code", "says"),
    [
        (
            "dispatch",
            "duplicates > 5 and duplicates < 3",
            "never-fires",
            "`duplicates < 3` contradicts `duplicates > 5`",
        ),
        ("dispatch", "hour >= 24", "never-fires", "hour is between 0 and 23"),
        ("dispatch", "confidence > 1 or hour > 23", "never-fires", "no alternative of this `or` can hold"),
        ("overdue", "priority == 'p1'", "never-fires", "priority is one of 'P1', 'P2', 'P3', 'P4'"),
        ("overdue", "clock in ['sla', 'escalated']", "unknown-value", "clock is never 'escalated'"),
        ("alert", "value > 100 or value > 50 and indicator == 'pm25'", "mixed-and-or", "so `value > 100` alone"),
    ],
)
def test_a_linter_warns_without_failing(kind: str, when: str, code: str, says: str) -> None:
    text = f'groups:\n  - name: g\n    kind: {kind}\n    rules:\n      - id: a\n        when: "{when}"\n'
    [problem] = check_rules(text)
    assert (problem.severity, problem.code, problem.line) == ("warning", code, 6)
    assert says in problem.message, problem.message
    assert len(parse_rules(text).rules) == 1  # warnings never stop a file from loading (nor publishing)


def test_parentheses_and_sound_conditions_are_not_warned() -> None:
    fine = [
        "category == '噪音扰民' and (hour >= 22 or hour < 6)",
        "(category == '噪音扰民' and hour >= 22) or hour < 6",
        "confidence >= 0.5 and confidence < 0.8",
        "duplicates >= 1 and (area == 'x' or area == 'y')",
    ]
    rules = "".join(
        f'      - id: r{i}\n        when: "{w}"\n        then: {{priority: P{i + 1}}}\n' for i, w in enumerate(fine)
    )
    assert check_rules(f"groups:\n  - name: g\n    kind: dispatch\n    rules:\n{rules}") == []


def test_shadowed_rules_name_the_rule_that_covers_them() -> None:
    text = """groups:
  - name: g
    kind: dispatch
    rules:
      - {id: review, when: confidence < 0.5, then: {queue: manual-review}}
      - {id: review-area, when: "confidence < 0.3 and area == 'x'", then: {queue: manual-review}}
      - {id: again, when: confidence  <  0.5, then: {priority: P1}}
      - {id: urgent, when: "confidence < 0.2", then: {priority: P1, queue: manual-review}}
      - {id: gas, when: "contains(text, '煤气')", then: {priority: P2}}
      - {id: gas-smell, when: "contains(text, '煤气') and area == 'x'", then: {priority: P3}}
"""
    warned = {(p.line, p.column): p.message for p in check_rules(text) if p.code == "shadowed"}
    assert sorted(warned) == [(6, 14), (7, 14), (10, 14)]
    assert "'review' (line 5) fires too" in warned[(6, 14)]
    assert "same condition as 'review'" in warned[(7, 14)]
    assert "'gas' (line 9)" in warned[(10, 14)]  # urgent (P1 + review) is covered by no single rule


def test_backtest_rows_bound_thresholds_and_values() -> None:
    text = """groups:
  - name: air
    kind: alert
    rules:
      - {id: a, when: "indicator == 'pm2.5' and value > 1000"}
      - {id: b, when: "indicator == 'pm25' and value >= 0 and hour < 24"}
"""
    rows = [{"indicator": "pm25", "value": v, "hour": v % 24} for v in range(500)]
    problems = check_rules(text, rows=rows)
    assert _seen(problems) == [
        (5, 37, "warning", "unknown-value", "did you mean 'pm25'?"),
        (5, 57, "warning", "threshold-out-of-range", None),
        (6, 70, "warning", "threshold-out-of-range", None),
    ]
    assert "(0 to 499, 500 rows): `value > 1000` never holds there" in problems[1].message
    assert "`hour < 24` always holds there" in problems[2].message
    assert check_rules(text, kind_rows={"alert": rows}) == problems
    assert check_rules(text, kind_rows={"video": rows}) == []


def test_the_default_rules_give_no_error_and_no_warning() -> None:
    rules_text = (DEFAULTS / "pingdu.yaml").read_text(encoding="utf-8")
    assert check_rules(rules_text, "pingdu.yaml") == []
    assert check_tests((DEFAULTS / "pingdu.test.yaml").read_text(encoding="utf-8"), rules_text) == []


def test_block_scalars_place_each_problem_on_its_own_line() -> None:
    text = (
        "groups:\n  - name: g\n    kind: dispatch\n    rules:\n      - id: a\n        when: >-\n"
        "          category == 'x' and hour >= 22\n          or txt == 'y'\n"
        "      - id: b\n        when: |\n          (hour >\n             confidance)\n"
    )
    assert _seen(check_rules(text)) == [
        (8, 11, "warning", "mixed-and-or", "add parentheses to say which you mean, e.g. "
         "`category == 'x' and (hour >= 22 or txt == 'y')`"),  # the shape is read despite the unknown field
        (8, 14, "error", "unknown-field", "did you mean 'text'?"),
        (12, 14, "error", "unknown-field", "did you mean 'confidence'?"),
    ]  # fmt: skip


def test_tests_beside_name_groups_and_rules_that_exist() -> None:
    tests = "tests:\n  - {group: event-dispach, name: a, input: {}, expect: []}\n"
    tests += "  - {group: event-dispatch, name: b, input: {}, expect: [gas-leak-p2]}\n"
    found = check_tests(tests, (DEFAULTS / "pingdu.yaml").read_text(encoding="utf-8"))
    assert _seen(found) == [
        (2, 13, "error", "unknown-group", "did you mean 'event-dispatch'?"),
        (3, 58, "error", "unknown-rule", "did you mean 'gas-leak-p1'?"),
    ]


HOSTILE = [
    "",
    "\x00\x01\x02",
    "groups: '\ud800'",
    "[" * 5000 + "]" * 5000,
    "- " * 5000 + "x",
    "groups:\n" + "  " * 30 + "x: 1\n",
    "a: &a [x, x]\nb: &b [*a, *a, *a]\ngroups: [*b, *b]\n",  # the alias bomb itself: test_rule_files
    "groups: !!python/object/apply:os.system ['id']\n",
    "groups:\n  - {name: g, kind: dispatch, rules: [{id: a, when: '" + "(" * 300 + "1" + ")" * 300 + "'}]}\n",
    "groups:\n  - {name: g, kind: dispatch, rules: [{id: a, when: '" + "not " * 400 + "hour'}]}\n",
    'groups:\n  - {name: g, kind: dispatch, rules: [{id: a, when: "x" }, {id: a, when: 3}, 7, null]}\n',
    "groups:\n  - name: g\n    kind: dispatch\n    rules:\n      - id: a\n"
    "        when: |\n          (hour >\n          txt)\n",
    "x" * (5 * 1024 * 1024 + 1),
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_gives_problems_never_an_exception(text: str) -> None:
    problems = check_rules(text, "evil.yaml")
    assert problems and all(p.code not in ("", "internal") and p.line >= 1 and p.column >= 1 for p in problems), (
        problems[:3]
    )


def test_mutations_of_the_default_rules_never_raise() -> None:
    """500 random edits of a real file (characters dropped, doubled, swapped for YAML and expression syntax)."""
    base = (DEFAULTS / "pingdu.yaml").read_text(encoding="utf-8")
    rng = random.Random(22)
    noise = [*":-[]{}'\"#&*!|>%@` \n\t()<=andor.x0é噪", "and", " or ", "not", "==", "**"]
    for _ in range(500):
        text = base
        for _ in range(rng.randrange(1, 6)):
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(["", rng.choice(noise), text[at] * 2]) + text[at + 1 :]
        for problem in check_rules(text, "m.yaml"):
            assert problem.code not in ("", "internal"), problem  # not the catch-all: every check held
            assert 1 <= problem.line <= text.count("\n") + 2 and problem.column >= 1


def test_a_clean_file_takes_the_fast_way(monkeypatch: pytest.MonkeyPatch) -> None:
    import rules.loader

    def refuse(text: str) -> None:
        raise AssertionError("a clean file must not be read the locating way")

    monkeypatch.setattr(rules.loader, "examine", refuse)
    assert len(parse_rules((DEFAULTS / "pingdu.yaml").read_text(encoding="utf-8")).rules) == 20
    with pytest.raises(AssertionError, match="locating way"):
        parse_rules(ISSUE)
