"""`citymind bootstrap` and `citymind registry ...` as a user runs them, on a fresh embedded home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli-home")
    env = {
        **os.environ,
        "CITYMIND_HOME": str(root),
        "CITYMIND_TRACKING_URI": "",
        "CITYMIND_ARTIFACT_LOCATION": "",
    }
    return env


def citymind(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "citymind.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )
    if ok:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_bootstrap_then_list_show_alias_rollback_lineage(home: dict[str, str], tmp_path: Path) -> None:
    first = citymind(home, "bootstrap").stdout
    assert "registered  knowledge  pingdu-basics/1 @production" in first
    assert "registered  rule       pingdu-rules/1 @production" in first
    assert "present     knowledge  pingdu-basics@production" in citymind(home, "bootstrap").stdout

    listed = json.loads(citymind(home, "registry", "list", "knowledge", "--json").stdout)
    assert {"name": "pingdu-basics", "aliases": {"production": 1}}.items() <= listed[0].items()

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "groups:\n  - name: g\n    kind: dispatch\n    rules:\n      - id: low\n        when: confidence < 0.5\n",
        encoding="utf-8",
    )
    lineage = json.dumps([{"kind": "knowledge", "name": "pingdu-basics", "version": 1}])
    out = citymind(
        home,
        "registry",
        "register",
        "--file",
        str(rules),
        "--kind",
        "rule",
        "--name",
        "city-rules",
        "--lineage",
        lineage,
        "--alias",
        "production",
        "--json",
    ).stdout
    assert json.loads(out)["aliases"] == ["production"]
    citymind(home, "registry", "register", "--file", str(rules), "--kind", "rule", "--name", "city-rules")
    citymind(home, "registry", "alias", "city-rules", "production", "2")
    shown = json.loads(citymind(home, "registry", "show", "city-rules@production", "--json").stdout)
    assert shown["version"] == 2 and shown["kind"] == "rule"

    back = json.loads(citymind(home, "registry", "rollback", "city-rules", "--alias", "production", "--json").stdout)
    assert back["version"] == 1
    versions = json.loads(citymind(home, "registry", "versions", "city-rules", "--json").stdout)
    assert [(v["version"], v["aliases"]) for v in versions] == [(1, ["production"]), (2, [])]
    down = json.loads(
        citymind(home, "registry", "lineage", "pingdu-basics", "1", "--direction", "down", "--json").stdout
    )
    assert [(r["kind"], r["name"], r["version"]) for r in down] == [
        ("knowledge", "pingdu-knowledge", "1"),
        ("rule", "city-rules", "1"),
    ]
    table = citymind(home, "registry", "list").stdout
    assert "pingdu-basics" in table and "city-rules" in table
    up = json.loads(citymind(home, "registry", "lineage", "event-classifier", "1", "--json").stdout)
    [sample] = [r for r in up if r["kind"] == "dataset"]  # what made the sample corpus, not a deleted temp folder
    assert sample["name"] == "sample_reports.yaml (generated sample reports)"
    assert sample["detail"]["source"].startswith("training/text/defaults/sample_reports.yaml")
    typo = citymind(home, "registry", "alias", "city-rules", "prodution", "2")
    assert "note: 'prodution' is a new alias of city-rules; did you mean 'production'?" in typo.stderr


def test_cli_errors_are_one_line_and_exit_2(home: dict[str, str]) -> None:
    proc = citymind(home, "registry", "show", "pingdu-basic", ok=False)
    assert proc.returncode == 2
    assert "error: Asset 'pingdu-basic' is not in the registry. Did you mean 'pingdu-basics'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = citymind(home, "registry", "alias", "pingdu-basics", "champion", "9", ok=False)
    assert proc.returncode == 2 and "Version 9 of knowledge 'pingdu-basics' does not exist" in proc.stderr
    for args, message in [
        (["list", "--tag", "city"], "error: --tag takes KEY=VALUE, e.g. --tag city=pingdu. Got 'city'."),
        (["lineage", "pingdu-basics", "1", "--direction", "sideways"], "error: Lineage direction must be"),
        (["register", "--file", "x.yaml", "--kind", "rule", "--name", "x", "--lineage", "{"], "error: --lineage"),
    ]:
        proc = citymind(home, "registry", *args, ok=False)
        assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""


def test_list_filters_by_tags_the_versions_carry(home: dict[str, str]) -> None:
    citymind(home, "bootstrap")
    listed = json.loads(citymind(home, "registry", "list", "--tag", "city=pingdu", "--json").stdout)
    assert "pingdu-basics" in [a["name"] for a in listed]  # its version is tagged city=pingdu, the asset is not
    assert json.loads(citymind(home, "registry", "list", "--tag", "city=qingdao", "--json").stdout) == []


def test_moving_an_alias_to_a_model_with_other_inputs_says_so(home: dict[str, str], tmp_path: Path) -> None:
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    for version, features in enumerate((4, 4, 3), 1):  # versions 1 and 2 take the same inputs, 3 one feature fewer
        X = rng.random((20, features)).astype(np.float32)
        path = tmp_path / f"v{version}.onnx"
        path.write_bytes(to_onnx(LinearRegression().fit(X, X.sum(axis=1)), X[:1]).SerializeToString())
        promote = ["--alias", "champion"] if version < 3 else []
        args = ["register", "--file", str(path), "--kind", "model", "--name", "pm25-load", *promote]
        assert "note:" not in citymind(home, "registry", *args).stderr
    moved = citymind(home, "registry", "alias", "pm25-load", "champion", "3").stderr
    assert moved.startswith(
        "note: pm25-load/3 takes inputs X: float32 [-1, 3]; pm25-load/2, which @champion left, took X: float32 "
        "[-1, 4]. Callers of pm25-load@champion must send the new inputs"
    ), moved
    back = citymind(home, "registry", "rollback", "pm25-load").stderr
    assert back.startswith("note: pm25-load/2 takes inputs X: float32 [-1, 4]; pm25-load/3, which @champion left"), back
