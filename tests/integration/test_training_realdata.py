"""Event classification trained by the pipeline itself on real citizen messages and news titles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry import MlflowRegistry

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CITYMIND_HOME": str(tmp_path / "home"),
        "CITYMIND_TRACKING_URI": "",
        "CITYMIND_ARTIFACT_LOCATION": "",
    }


def cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "citymind.cli", *args], env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def train(env: dict[str, str], *args: str) -> dict:
    return json.loads(cli(env, "train", "event-classifier", *args, "--json"))


def test_tipdm_messages_macro_f1_and_champion_challenger(shared_data: Path, home: dict[str, str]) -> None:
    data = shared_data / "complaints" / "tipdm2020_messages_labeled.csv"
    args = ["--data", str(data), "--text-col", "留言主题", "--text-col", "留言详情", "--label-col", "一级分类"]
    # no knowledge registered yet: the words of the reports alone (its folds in this process, --jobs 1)
    first = train(home, *args, "--algorithm", "char-ngram-linear", "--jobs", "1")
    print(f"\ntipdm2020 5-fold macro-F1 {first['macro_f1']:.4f} accuracy {first['accuracy']:.4f} (no catalogue)")
    assert first["rows"] == 495 and first["classes"] == 7
    assert first["macro_f1"] >= 0.77
    assert first["knowledge"] == {"used": False, "note": first["knowledge"]["note"]}
    assert "pingdu-knowledge@production is not registered" in first["knowledge"]["note"]
    assert first["promoted"] and first["aliases"] == ["challenger", "champion"]

    # the city's routing catalogue in the knowledge library, then the defaults: no flags
    catalogue, graph = shared_data / "complaints" / "tipdm2020_category_taxonomy.csv", Path(home["CITYMIND_HOME"])
    cli(home, "kg", "import", str(catalogue), "--scheme", "tipdm", "--out", str(graph / "tipdm.json"))
    cli(home, "kg", "register", str(graph / "tipdm.json"))
    informed = train(home, *args)
    print(f"tipdm2020 5-fold macro-F1 {informed['macro_f1']:.4f} with the catalogue's words {informed['knowledge']}")
    assert informed["macro_f1"] >= 0.85 and informed["macro_f1"] > first["macro_f1"] + 0.03
    assert informed["knowledge"] == {"knowledge": "pingdu-knowledge/1", "categories": 15, "terms": 525}
    assert informed["onnx_parity_max_abs_diff"] <= 1e-4
    assert informed["algorithm"] == "char-ngram-linear"  # auto (the default) compared every family
    assert {f["algorithm"] for f in informed["families"]} == {
        "char-ngram-linear",
        "nbsvm-short-text",
        "nbsvm-static-e5",
    }
    assert informed["promoted"] and informed["comparison"]["how"] == "same data and folds (stored)"

    weaker = train(
        home, *args, "--algorithm", "char-ngram-linear", "--params", '{"C": 0.05, "ngram_range": [3, 3]}', "--jobs", "1"
    )
    assert weaker["macro_f1"] < informed["macro_f1"]
    assert not weaker["promoted"] and weaker["comparison"]["champion"] == 2
    assert weaker["comparison"]["how"] == "same data and folds (stored)"

    reg = MlflowRegistry.from_settings(_settings(home))
    assert reg.resolve("event-classifier@champion").version == 2
    assert reg.resolve("event-classifier@challenger").version == 3
    lineage = {r.kind: r for r in reg.lineage("event-classifier", 2)}
    assert lineage["algorithm"].name == "char-ngram-linear"
    assert (lineage["knowledge"].name, lineage["knowledge"].version) == ("pingdu-knowledge", "1")
    assert lineage["dataset"].detail["digest"].startswith("sha256:")
    run = reg.client.get_run(informed["run_id"])
    assert run.data.metrics["macro_f1"] == pytest.approx(informed["macro_f1"])
    assert {"accuracy", "onnx_parity_max_abs_diff"} <= set(run.data.metrics)
    assert run.data.metrics["f1_交通运输"] == pytest.approx(informed["per_class_f1"]["交通运输"])
    assert run.inputs.dataset_inputs[0].dataset.digest == lineage["dataset"].detail["digest"]
    artifacts = {a.path for a in reg.client.list_artifacts(informed["run_id"])}
    assert {"confusion_matrix.png", "evaluation.json", "taxonomy.json", "family_comparison.json"} <= artifacts


def test_thucnews_titles_macro_f1(shared_data: Path, home: dict[str, str]) -> None:
    result = train(
        home,
        "--data",
        str(shared_data / "news_titles" / "thucnews_titles_dev.txt"),
        "--columns",
        "title,label",
        "--text-col",
        "title",
        "--label-col",
        "label",
        "--label-names",
        str(shared_data / "news_titles" / "thucnews_classes.txt"),
        "--name",
        "news-topic",
    )
    assert result["algorithm"] == "nbsvm-static-e5"  # auto chose it over nbsvm-short-text (0.872), char-ngram (0.85)
    print(f"\nTHUCNews titles 5-fold macro-F1 {result['macro_f1']:.4f} accuracy {result['accuracy']:.4f}")
    assert result["rows"] == 10_000 and result["classes"] == 10
    assert result["macro_f1"] >= 0.875
    assert result["onnx_parity_max_abs_diff"] <= 1e-4


def _settings(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from citymind.settings import Settings

    return Settings(home=Path(env["CITYMIND_HOME"]))
