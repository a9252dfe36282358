"""Rule files: strict validation where every problem is reported as file:line:col, expressions included."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from rules.loader import RuleFileError, load_rules, parse_rules
from rules.schema import SCHEMA

GOOD = """groups:
  - name: pingdu-dispatch
    kind: dispatch
    rules:
      - id: gas-smell
        title: 燃气泄漏立即处置
        when: category == '燃气安全' or contains(text, '煤气味')
        then: {priority: P1, transfer: "119", sla: 30m}
      - id: low-confidence
        when: "confidence < 0.5"
        then: {queue: manual-review}
"""


def test_a_good_file_compiles_every_rule() -> None:
    rules = parse_rules(GOOD, "pingdu.yaml")
    assert [r.id for r in rules.rules] == ["gas-smell", "low-confidence"]
    assert rules.rules[0].condition({"category": "市容环境", "text": "楼道有煤气味"}) is True
    assert rules.rules[1].spec["then"] == {"queue": "manual-review"} and rules.rules[1].enabled


def test_every_problem_has_file_line_col() -> None:
    text = GOOD.replace("        title: 燃气泄漏立即处置\n", "        title: 燃气泄漏立即处置\n        colour: red\n")
    text = text.replace("then: {queue: manual-review}", "then: {queue: manual-review, priority: P9}")
    with pytest.raises(RuleFileError) as info:
        parse_rules(text, "pingdu.yaml")
    assert info.value.problems == [
        "pingdu.yaml:7:9: unknown key 'colour'; allowed here: annotations, description, enabled, for, group_by, id, "
        "interval, keep_firing_for, labels, owner, severity, then, title, when",
        "pingdu.yaml:12:48: groups/0/rules/1/then/priority: 'P9' is not one of ['P1', 'P2', 'P3', 'P4']",
    ]


def test_expression_errors_point_into_the_expression() -> None:
    plain = GOOD.replace("when: category == '燃气安全'", "when: categry == '燃气安全'")
    with pytest.raises(RuleFileError, match=r"^pingdu\.yaml:7:15: unknown field 'categry'"):
        parse_rules(plain, "pingdu.yaml")
    quoted = GOOD.replace('when: "confidence < 0.5"', 'when: "confidence < 0.5 and pm25 ** 2"')
    with pytest.raises(RuleFileError, match=r"^pingdu\.yaml:10:37: .*operator Pow is not allowed"):
        parse_rules(quoted, "pingdu.yaml")


def test_yaml_errors_duplicates_and_empty_files() -> None:
    with pytest.raises(RuleFileError, match=r"^x\.yaml:2:1: YAML error"):
        parse_rules("groups: [\n", "x.yaml")
    with pytest.raises(RuleFileError, match="the file is empty"):
        parse_rules("", "x.yaml")
    twice = GOOD.replace("id: low-confidence", "id: gas-smell")
    with pytest.raises(RuleFileError, match=r"pingdu\.yaml:9:13: rule id 'gas-smell' is already used at line 5"):
        parse_rules(twice, "pingdu.yaml")


def test_yaml_tags_are_not_constructed() -> None:
    with pytest.raises(RuleFileError, match=r"evil\.yaml:1:9: YAML tag 'tag:yaml.org,2002:python/object/apply"):
        parse_rules("groups: !!python/object/apply:os.system ['id']\n", "evil.yaml")
    with pytest.raises(RuleFileError, match=r"evil\.yaml:1:9: YAML tag 'tag:yaml.org,2002:python/name:os.system'"):
        parse_rules("groups: !!python/name:os.system ''\n", "evil.yaml")


def test_the_published_schema_is_valid_json_schema(tmp_path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert len(load_rules(path).rules) == 2
    assert json.loads(json.dumps(SCHEMA))["properties"]["groups"]["items"]["properties"]["kind"]["enum"] == [
        "alert",
        "dispatch",
        "overdue",
        "video",
    ]


def test_cli_validate_prints_file_line_col_and_exits_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from citymind.cli import app

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(GOOD.replace("confidence < 0.5", "confidence <"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: 2 rules, 0 tests OK" in result.output
    assert f"{bad}:10:28: error: syntax error: invalid syntax\n" in result.output
    schema = CliRunner().invoke(app, ["rules", "schema"])
    assert json.loads(schema.output)["title"] == "citymind rule file"


def test_columns_count_characters_not_bytes() -> None:
    text = GOOD.replace("contains(text, '煤气味')", "contains(text, '煤气味') and text ** 2")
    # line 7 is `        when: category == '燃气安全' or contains(text, '煤气味') and text ** 2`;
    # `text` is character 49 of the condition, which starts at column 15
    with pytest.raises(RuleFileError, match=r"^pingdu\.yaml:7:63: operator Pow is not allowed \(use \+ - \* / %\)$"):
        parse_rules(text, "pingdu.yaml")


def test_fast_and_locating_ways_read_the_same_data() -> None:
    from rules.schema import SCHEMA
    from rules.yaml_source import fast_load, locate

    text = (Path(__file__).resolve().parents[2] / "rules" / "defaults" / "pingdu.yaml").read_text(encoding="utf-8")
    assert fast_load(text, SCHEMA) == locate(text, "pingdu.yaml", SCHEMA, "")[0]
    scalars = GOOD.replace("title: 燃气泄漏立即处置", "title: no\n        owner: on\n        enabled: true")
    fast = fast_load(scalars, SCHEMA)
    assert fast is not None and fast == locate(scalars, "x.yaml", SCHEMA, "")[0]
    assert fast["groups"][0]["rules"][0]["title"] == "no"  # YAML 1.2: text, not a boolean
    dated = GOOD.replace("title: 燃气泄漏立即处置", "title: 2024-01-01")
    assert fast_load(dated, SCHEMA) is None  # the Rust parser makes a date: the locating way reads it as text
    assert parse_rules(dated).rules[0].spec["title"] == "2024-01-01"


def test_anchor_bombs_and_duplicate_keys_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    with pytest.raises(RuleFileError, match="expands to more than 1000000 values"):
        parse_rules(bomb, "bomb.yaml")
    with pytest.raises(RuleFileError, match=r"^twice\.yaml:2:1: key 'groups' appears twice"):
        parse_rules("groups: []\ngroups: []\n", "twice.yaml")


BROKEN = [
    ("groups: [\n", "YAML error"),
    ("groups:\n  - name: g\n    kind: alarm\n    rules: []\n", "is not one of"),
    ("groups:\n  - name: g\n    kind: alert\n    rules:\n      - id: X Y\n        when: value > 1\n", "does not match"),
    (
        "groups:\n  - name: g\n    kind: alert\n    rules:\n      - id: a\n        when: value > 1\n"
        "        for: 5 min\n",
        "for",
    ),
    ("groups:\n  - name: g\n    kind: alert\n    rules:\n      - id: a\n", "'when' is a required property"),
    ("groups:\n  - name: g\n    kind: video\n    rules:\n      - id: a\n        when: value > 1\n", "unknown field"),
    ("groups:\n  - {name: g, kind: alert, rules: [{id: a, when: 'value >'}]}\n", "syntax error"),
    (
        "groups:\n  - {name: g, kind: alert, rules: [{id: a, when: x}], tests: [{name: t, input: {}, expect: [b]}]}\n",
        "test expects rule 'b'",
    ),
    ("groups: !!python/name:os.system ''\n", "YAML tag"),
    ("", "the file is empty"),
    ("- 1\n- 2\n", "is not of type 'object'"),
]


@pytest.mark.parametrize(("text", "says"), BROKEN)
def test_every_error_message_carries_file_line_col(text: str, says: str) -> None:
    import re

    with pytest.raises(RuleFileError) as info:
        parse_rules(text, "broken.yaml")
    assert info.value.problems and all(re.match(r"^broken\.yaml:\d+:\d+: ", p) for p in info.value.problems)
    assert says in str(info.value)
