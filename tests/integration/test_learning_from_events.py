"""Learning from corrections: the training set the event records give (confirmed or corrected categories, one
per 并单 group) and ``citymind train event-classifier --from-events`` against a bootstrapped registry."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citymind.cli import app
from citymind.settings import get_settings
from events.learning import training_examples
from events.records import EventRecords
from registry import MlflowRegistry
from tests.integration._event_records import T0, events_url, outcome, report, store
from training.text.sample_corpus import generate_sample_reports


def test_training_examples_are_confirmed_or_corrected_and_counted_once_per_group(tmp_path: Path) -> None:
    records = store(tmp_path)
    records.record([
        report("e1", T0, "路灯不亮", "市容环境"),
        report("e2", T0 + 60, "路灯不亮了", "市容环境", merged_into="e1"),  # 并单: the group is e1
        report("e3", T0 + 120, "公司拖欠工资", "市容环境"),  # decided wrong, corrected below
        report("e4", T0 + 180, "暖气不热", "住房建设"),  # nobody confirmed it yet
        {**report("w1", T0 + 240, "PM2.5 超标", "生态环境"), "kind": "warning"},
    ])  # fmt: skip
    for event_id in ("e1", "e2", "w1"):
        outcome(records, event_id, "accepted", T0 + 600)
    outcome(records, "e3", "category_corrected", T0 + 700, category="劳动社保")
    examples = training_examples(records)
    assert examples.event_ids == ["e1", "e3"] and examples.labels == ["市容环境", "劳动社保"]
    assert examples.query["corrected"] == 1 and examples.query["confirmed"] == 1
    assert examples.query["merged_left_out"] == 1
    assert training_examples(records).digest == examples.digest  # the same events and labels: the same digest
    assert training_examples(records, since=T0 + 100).event_ids == ["e3"]
    outcome(records, "e1", "category_corrected", T0 + 800, category="道路交通")
    relabelled = training_examples(records)
    assert relabelled.labels == ["道路交通", "劳动社保"] and relabelled.digest != examples.digest
    older, newest = relabelled.newest(0.2)
    assert older.event_ids == ["e1"] and newest.event_ids == ["e3"] and newest.query["part"] == "newest"
    records.close()


def fill_from_corpus(records: EventRecords, rows: list[tuple[str, str]], seed: int = 0) -> None:
    """Every report recorded in time order and accepted; one in ten decided wrong and corrected; one in
    fifteen a duplicate (并单) of the report before it."""
    rng = random.Random(seed)
    categories = sorted({label for _, label in rows})
    recorded = []
    for i, (text, label) in enumerate(rows):
        wrong = i % 10 == 3
        decided = rng.choice([c for c in categories if c != label]) if wrong else label
        merged = f"ev{i - 1:04d}" if i % 15 == 14 else None
        recorded.append(report(f"ev{i:04d}", T0 + 3600 * i, text, decided, merged_into=merged))
    records.record(recorded)
    for i, (_, label) in enumerate(rows):
        outcome(records, f"ev{i:04d}", "accepted", T0 + 3600 * i + 600)
        if i % 10 == 3:
            outcome(records, f"ev{i:04d}", "category_corrected", T0 + 3600 * i + 900, category=label)


@pytest.fixture
def cli_env(bootstrapped: MlflowRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CITYMIND_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITYMIND_TRACKING_URI", bootstrapped.tracking_uri)
    monkeypatch.setenv("CITYMIND_ARTIFACT_LOCATION", bootstrapped.artifact_location or "")
    monkeypatch.setenv("CITYMIND_EVENTS_URL", events_url(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def labelled(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def train(*args: str) -> dict:
    result = CliRunner().invoke(app, ["train", "event-classifier", *args, "--folds", "3", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_from_events_holds_out_the_newest_and_keeps_the_lineage(
    cli_env: Path, bootstrapped: MlflowRegistry
) -> None:
    corpus = generate_sample_reports(cli_env / "champion.csv", per_category=12, seed=5)
    champion = train("--data", str(corpus), "--text-col", "text", "--label-col", "category", "--name", "learned")
    assert champion["promoted"]
    rows = labelled(generate_sample_reports(cli_env / "events.csv", per_category=15, seed=11))
    records = store(cli_env)
    fill_from_corpus(records, rows)
    expected = training_examples(records)
    records.close()

    extra = generate_sample_reports(cli_env / "extra.csv", per_category=3, seed=13)
    args = ["--from-events", "--with", str(extra), "--text-col", "text", "--label-col", "category"]
    summary = train(*args, "--name", "learned", "--canary", "0.1")
    holdout = summary["holdout"]
    newest = round(len(expected) * 0.2)
    assert holdout["holdout_rows"] == newest and 0.0 <= holdout["holdout_macro_f1"] <= 1.0
    assert "champion_holdout_macro_f1" in holdout and summary["comparison"]["champion"] == 1
    assert f"same {newest} newest rows" in summary["comparison"]["how"]
    assert summary["rows"] == len(expected) - newest + len(labelled(extra))  # the older part and the --with file
    assert summary["lineage"]["events_digest"] == expected.digest

    version = bootstrapped.version("learned", summary["version"])
    assert version.tags["citymind.source.events_digest"] == expected.digest
    assert json.loads(version.tags["citymind.source.events_query"])["count"] == len(expected)
    assert "challenger" in version.aliases and "holdout_macro_f1" in version.tags
    events_ref = next(r for r in version.lineage if r.kind == "dataset" and r.name == "events")
    assert events_ref.detail["events_digest"] == expected.digest
    run = bootstrapped.client.get_run(summary["run_id"]).data
    assert {"holdout_macro_f1", "champion_holdout_macro_f1"} <= set(run.metrics)
    assert run.params["events_digest"] == expected.digest
    assert run.tags["citymind.source.events_count"] == str(len(expected))
    if not summary["promoted"]:
        assert summary["canary_weight"] == 0.1


@pytest.mark.realdata
@pytest.mark.slow
def test_tipdm_messages_as_recorded_events(cli_env: Path, shared_data: Path) -> None:
    """The 495 labelled TIPDM messages recorded at their own times: the newest 20% held out."""
    import pandas as pd

    from models.text.cleaning import join_fields

    frame = pd.read_csv(shared_data / "complaints" / "tipdm2020_messages_labeled.csv", dtype=str)
    frame = frame.assign(at=pd.to_datetime(frame["留言时间"], format="mixed")).sort_values("at")
    rows = [(join_fields(r.留言主题, r.留言详情), r.一级分类) for r in frame.itertuples()]
    records = store(cli_env)
    fill_from_corpus(records, rows)
    records.close()
    first = train("--from-events", "--name", "tipdm-events")
    print(f"\ntipdm2020 as events: newest-20% macro-F1 {first['holdout']['holdout_macro_f1']:.4f}, "
          f"k-fold {first['macro_f1']:.4f} ({first['rows']} training rows)")  # fmt: skip
    assert first["holdout"]["holdout_macro_f1"] >= 0.6 and first["promoted"]
    again = train("--from-events", "--name", "tipdm-events")
    assert again["comparison"]["champion"] == first["version"]
    assert again["holdout"]["champion_holdout_macro_f1"] == pytest.approx(
        again["holdout"]["holdout_macro_f1"], abs=0.02
    )
