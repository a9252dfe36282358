"""The README's Python example runs as written, on a fresh embedded home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_readme_registry_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    blocks = [b for b in blocks if "MlflowRegistry" in b]  # the client's example runs against a gateway (e2e)
    assert blocks, "README has no python example of the registry"
    env = {
        **os.environ,
        "CITYMIND_HOME": str(tmp_path / "home"),
        "CITYMIND_TRACKING_URI": "",
        "CITYMIND_ARTIFACT_LOCATION": "",
    }
    proc = subprocess.run(
        [sys.executable, "-c", blocks[0]], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "1"
    assert "LineageRef(kind='dataset', name='PINGDU.md'" in lines[1]
    assert lines[2] == "['pingdu.yaml']"


def close(text: str, value: float) -> bool:
    """``text`` is ``value`` as the README rounds it (to its own last digit)."""
    number = text.replace(",", "")
    decimals = len(number.split(".")[1]) if "." in number else 0
    return abs(float(number) - value) <= 0.5 * 10**-decimals + 1e-9


def benchmark(name: str) -> dict:
    import json

    return json.loads((REPO / "docs" / "benchmarks" / f"{name}.json").read_text(encoding="utf-8"))


def test_readme_gateway_table_is_the_benchmark_json() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    results = benchmark("event_classify")["results"]
    rows = {
        "plain uvicorn": "a_floor_uvicorn",
        "gateway fast path": "b_gateway_fast_path",
        "through the Serve HTTP proxy": "b2_gateway_via_serve_proxy",
        "Ray deployment handle": "c_ray_handle_path",
        "mlflow models serve": "d_mlflow_models_serve",
    }
    checked = 0
    for line in readme.splitlines():
        first, *cells = [c.strip().strip("*") for c in line.strip("|").split("|")] if line.startswith("|") else [""]
        label = next((key for phrase, key in rows.items() if phrase in first), None)
        if label is None:
            continue
        sequential, concurrent = results[label]["sequential"], results[label]["concurrent_8"]
        expected = [sequential["p50_ms"], sequential["p99_ms"], sequential["p50_ratio_to_floor"], sequential["rps"],
                    concurrent["rps"]]  # fmt: skip
        assert all(close(c, v) for c, v in zip(cells, expected, strict=True)), (line, expected)
        checked += 1
    assert checked == len(rows)


def test_readme_rules_and_forecast_figures_are_the_benchmark_json() -> None:
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    rules = benchmark("rules")
    found = re.search(
        r"One core evaluates ([\d,.]+) conditions/s \(([\d.]+)× zen-engine, ([\d.]+)× simpleeval, ([\d.]+)× "
        r"rule-engine on the same conditions\) and reloads a 10,000-rule file in ([\d.]+) s",
        readme,
    )
    assert found, "the README's rules benchmark sentence changed: update this test with it"
    peers = rules["peers"]
    expected = [rules["citymind"]["evaluations_per_s"], peers["zen_engine"]["citymind_speedup"],
                peers["simpleeval"]["citymind_speedup"], peers["rule_engine"]["citymind_speedup"],
                rules["reload_10k_rules"]["cold_s"]]  # fmt: skip
    assert all(close(t, v) for t, v in zip(found.groups(), expected, strict=True)), (found.groups(), expected)
    forecast = benchmark("forecast")
    found = re.search(r"at ([\d.]+)× a plain-uvicorn floor \(p50 ([\d.]+) ms\)", readme)
    assert found, "the README's forecast latency sentence changed: update this test with it"
    fast = forecast["results"]["b_gateway_fast_path"]["sequential"]
    assert close(found.group(1), forecast["summary"]["fast_path_p50_vs_floor"]) and close(
        found.group(2), fast["p50_ms"]
    )


def test_readme_forecast_accuracy_table_is_the_benchmark_json() -> None:
    """Each series' row: the default's MASE, the untuned LightGBM baseline's (same run), ratio, coverage."""
    accuracy = benchmark("forecast")["accuracy"]
    labels = {"Beijing PM2.5": "beijing-pm25", "DC bike-share": "dc-bikeshare"}
    checked = 0
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        first, *cells = [c.strip().strip("*") for c in line.strip("|").split("|")] if line.startswith("|") else [""]
        name = next((key for label, key in labels.items() if first.startswith(label)), None)
        if name is None or len(cells) != 5:
            continue
        figures = accuracy[name]
        expected = [figures["mase_default_auto"], figures["mase_untuned_lightgbm"],
                    figures["mase_default_auto"] / figures["mase_untuned_lightgbm"], figures["coverage"]]  # fmt: skip
        numbers = [cells[0].split()[0], *cells[2:]]
        assert all(close(c, v) for c, v in zip(numbers, expected, strict=True)), (line, expected)
        assert cells[1] == figures["chosen"], (line, figures["chosen"])
        checked += 1
    assert checked == len(labels), "the README's forecast accuracy table changed: update this test with it"


def test_readme_request_bodies_are_shipped() -> None:
    import json

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    bodies = re.findall(r"-d @(\S+)", readme)
    assert bodies and all(b.startswith("examples/") for b in bodies), bodies
    for body in bodies:
        assert isinstance(json.loads((REPO / body).read_text(encoding="utf-8")), dict), body


@pytest.mark.realdata
def test_shipped_request_bodies_are_what_the_script_makes_from_the_real_data(shared_data: Path, tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", REPO / "examples" / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for made in module.write(tmp_path, shared_data):
        assert made.read_bytes() == (REPO / "examples" / made.name).read_bytes(), made.name


def test_readme_says_how_to_reach_the_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in readme and ".venv/bin/citymind" in readme
    assert "FIRST_INSTALL" not in readme  # measured figures, not placeholders


def test_the_docs_the_readme_and_the_pins_point_to_exist() -> None:
    named = set()
    for source in ("README.md", "constraints.txt", "pyproject.toml"):
        named |= set(re.findall(r"\bdocs/[\w/]+\.(?:md|json)", (REPO / source).read_text(encoding="utf-8")))
    assert "docs/decisions.md" in named
    assert [n for n in sorted(named) if not (REPO / n).is_file()] == []
