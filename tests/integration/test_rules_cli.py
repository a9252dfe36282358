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
