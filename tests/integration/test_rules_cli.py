"""`citymind rules test` and `backtest` as a rule author runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citymind.cli import app
from rules.loader import load_rules

DEFAULT = Path(__file__).resolve().parents[2] / "rules" / "defaults" / "pingdu.yaml"
BESIDE = DEFAULT.with_name("pingdu.test.yaml")


def test_default_ruleset_passes_its_tests() -> None:
    result = CliRunner().invoke(app, ["rules", "test", str(DEFAULT)])
    assert result.exit_code == 0, result.output
    n = len(load_rules(DEFAULT).tests)
    assert n >= 17 and f"{n}/{n} tests passed" in result.output


def test_a_test_file_named_checks_its_rule_file_once() -> None:
    n = len(load_rules(DEFAULT).tests)
    for command in ("validate", "test"):
        result = CliRunner().invoke(app, ["rules", command, str(BESIDE), str(DEFAULT)])
        assert result.exit_code == 0, result.output
        assert result.output.count(str(DEFAULT)) == 1 and str(BESIDE) not in result.output
    assert f"{n} tests OK" in CliRunner().invoke(app, ["rules", "validate", str(BESIDE)]).output


def test_a_broken_copy_fails_with_a_diff(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        DEFAULT.read_text(encoding="utf-8")
        .replace("when: confidence < 0.5", "when: confidence < 0.2")
        .replace("escalate_after: 15m}", "escalate_after: 20m}"),
        encoding="utf-8",
    )
    (tmp_path / "broken.test.yaml").write_text(BESIDE.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "test", str(broken)])
    assert result.exit_code == 1
    assert "unsure classification goes to manual review" in result.output
    assert "expected: ['low-confidence-review']\n  fired:    []" in result.output
    assert "- did not fire: low-confidence-review" in result.output
    # the test beside the file checks what the firing carries, and the diff shows what it carried instead
    assert '"escalate_after": "15m"' in result.output and '"escalate_after": "20m"' in result.output
    n = len(load_rules(DEFAULT).tests)
    assert f"{n - 2}/{n} tests passed" in result.output


def test_eval_explains_each_firing() -> None:
    event = json.dumps({"category": "燃气安全", "confidence": 0.3, "text": "有煤气味", "area": "南村镇"})
    result = CliRunner().invoke(app, ["rules", "eval", str(DEFAULT), "--event", event])
    assert result.exit_code == 0, result.output
    firings = {f["rule"]: f for f in json.loads(result.output)}
    assert sorted(firings) == ["gas-leak-p1", "low-confidence-review"]
    assert firings["low-confidence-review"]["thresholds"] == ["confidence < 0.5"]
    assert firings["low-confidence-review"]["values"] == {"confidence": 0.3}
    assert firings["gas-leak-p1"]["explanation"].startswith("gas-leak-p1: category == '燃气安全' or contains(")


@pytest.mark.realdata
def test_backtest_hit_rate_matches_pandas(shared_data: Path, tmp_path: Path) -> None:
    import pandas as pd

    csv = shared_data / "timeseries" / "beijing_pm25_hourly_2010_2014.csv"
    rules = tmp_path / "pm25.yaml"
    rules.write_text(
        "groups:\n  - name: air\n    kind: alert\n    rules:\n"
        "      - id: over-150\n        when: value > 150\n"
        "      - id: over-150-3h\n        when: value > 150\n        for: 2h\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        [
            "rules",
            "backtest",
            str(rules),
            "--data",
            str(csv),
            "--value-col",
            "pm2.5",
            "--time-cols",
            "year,month,day,hour",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    frame = pd.read_csv(csv)
    over = frame["pm2.5"] > 150  # NaN compares False, as a missing value does in a rule
    held_3h = over.rolling(3).sum() == 3
    assert report["rows"] == len(frame) == 43_824
    rules_report = report["rules"][str(rules)]
    assert rules_report["over-150"]["would_fire"] == int(over.sum())
    assert rules_report["over-150"]["hit_rate"] == pytest.approx(over.mean())
    assert rules_report["over-150-3h"]["would_fire"] == int(held_3h.sum())


def test_backtest_says_which_fields_no_row_has_and_set_supplies_them(tmp_path: Path) -> None:
    csv = tmp_path / "hours.csv"
    csv.write_text("pm,forecast.max,forecast.hours\n160,170,12\n90,100,12\n155,,\n", encoding="utf-8")
    rules = tmp_path / "air.yaml"
    rules.write_text(
        "groups:\n  - name: air\n    kind: alert\n    rules:\n"
        "      - id: now\n        when: indicator == 'pm25' and value > 150\n"
        "      - id: ahead\n        when: indicator == 'pm25' and forecast.max > 150 and forecast.hours <= 24\n",
        encoding="utf-8",
    )
    args = ["rules", "backtest", str(rules), "--data", str(csv), "--value-col", "pm"]
    bare = CliRunner().invoke(app, args)
    assert bare.exit_code == 0, bare.output
    assert {r: row["unseen"] for r, row in json.loads(bare.stdout)["rules"][str(rules)].items()} == {
        "now": ["indicator"],
        "ahead": ["indicator"],  # the dotted columns are the nested fields
    }
    assert "now never fired: no row has indicator (a column, or --set FIELD=VALUE)" in bare.stderr
    given = CliRunner().invoke(app, [*args, "--set", "indicator=pm25"])
    report = json.loads(given.stdout)["rules"][str(rules)]
    assert (report["now"]["would_fire"], report["ahead"]["would_fire"], given.stderr) == (2, 1, "")
    wrong = CliRunner().invoke(app, [*args, "--set", "indicator"])
    assert wrong.exit_code == 2 and "--set takes FIELD=VALUE" in wrong.output


def test_validate_prints_every_problem_of_the_issue_file_at_its_place(tmp_path: Path) -> None:
    from tests.unit.test_rule_checks import ISSUE

    path = tmp_path / "noise.yaml"
    path.write_text(ISSUE, encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "validate", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()  # the problems; the summary goes to stdout
    assert [line.split(": ")[0:2] for line in lines] == [
        [f"{path}:7:49", "warning"],
        [f"{path}:10:24", "error"],
        [f"{path}:11:26", "error"],
        [f"{path}:13:16", "error"],
    ]
    assert f"{path}:10:24: error: unknown field 'txt' (did you mean 'text'?)" in lines
    assert f"{path}:13:16: error: unknown field 'confidance' (did you mean 'confidence'?)" in lines
    assert lines[2].endswith("'p3' is not one of ['P1', 'P2', 'P3', 'P4'] (did you mean 'P3'?)")
    assert f"{path}: 3 errors, 1 warning" in result.output
    as_json = CliRunner().invoke(app, ["rules", "validate", str(path), "--json"])
    [report] = json.loads(as_json.stdout)["files"]
    assert (report["errors"], report["warnings"], as_json.exit_code) == (3, 1, 1)
    assert report["problems"][0] == {
        "file": str(path),
        "line": 7,
        "column": 49,
        "severity": "warning",
        "code": "mixed-and-or",
        "message": report["problems"][0]["message"],
        "hint": "add parentheses to say which you mean, e.g. `category == '噪音扰民' and (hour >= 22 or hour < 6)`",
    }


def test_warnings_alone_pass_unless_strict(tmp_path: Path) -> None:
    path = tmp_path / "warned.yaml"
    path.write_text(
        "groups:\n  - name: g\n    kind: dispatch\n    rules:\n      - id: a\n        when: hour >= 24\n",
        encoding="utf-8",
    )
    loose = CliRunner().invoke(app, ["rules", "validate", str(path)])
    assert loose.exit_code == 0, loose.output
    assert f"{path}:6:15: warning: hour is between 0 and 23: `hour >= 24` never holds" in loose.output
    assert f"{path}: 1 rules, 0 tests OK (1 warning)" in loose.output
    assert CliRunner().invoke(app, ["rules", "validate", str(path), "--strict"]).exit_code == 1
    clean = CliRunner().invoke(app, ["rules", "validate", str(DEFAULT), "--strict"])
    assert clean.exit_code == 0 and clean.output.strip() == f"{DEFAULT}: 20 rules, 26 tests OK", clean.output


@pytest.mark.realdata
def test_validate_warns_on_thresholds_the_backtest_data_never_reaches(shared_data: Path, tmp_path: Path) -> None:
    csv = shared_data / "timeseries" / "beijing_pm25_hourly_2010_2014.csv"
    rules = tmp_path / "pm25.yaml"
    rules.write_text(
        "groups:\n  - name: air\n    kind: alert\n    rules:\n"
        "      - id: extreme\n        when: value > 1000\n      - id: heavy\n        when: value > 150\n",
        encoding="utf-8",
    )
    args = ["rules", "validate", str(rules), "--data", str(csv), "--value-col", "pm2.5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        f"{rules}:6:23: warning: 1000 is outside the range of value in the backtest data (0 to 994, 41757 rows): "
        "`value > 1000` never holds there"
    ) in result.output
    assert ":8:" not in result.output  # 150 is inside the range
