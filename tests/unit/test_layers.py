"""The layers of docs/architecture.md hold: import-linter's contracts pass on the tree, and fail, naming the
import, when a lower layer reaches up; the layout counts stay within the goals."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.layout import PACKAGES, layout

ROOT = Path(__file__).resolve().parents[2]
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    return subprocess.run([*LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_registry_importing_serving_breaks_the_layers_with_its_path(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    init = tmp_path / "registry" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8") + "\nimport serving.app  # noqa\n", encoding="utf-8")
    done = lint(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "registry is not allowed to import serving" in done.stdout
    assert "registry -> serving.app" in done.stdout


def test_the_layout_counts_stay_within_the_goals() -> None:
    counts = layout(ROOT)
    assert counts["local_first_party_imports"] <= 40, counts["local_first_party_by_module"]
    shares = counts["any_share"]
    assert isinstance(shares, dict) and shares["serving"] <= 0.15 and shares["events"] <= 0.15, shares
    assert counts["module_cycles"] == [] and counts["long_modules"] == {}, counts
