"""The README's Python example runs as written, on a fresh embedded home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_readme_registry_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no python example"
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
