"""Four processes registering versions of one asset at once: all succeed, numbered uniquely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from registry import MlflowRegistry

WORKER = Path(__file__).with_name("_register_worker.py")


def test_four_processes_register_the_same_asset(store: dict[str, str], unique: str) -> None:
    name = f"concurrent-{unique}"
    per_worker = 3
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                store["tracking_uri"],
                store["artifact_location"],
                name,
                str(per_worker),
                str(w),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err[-3000:]
    claimed = sorted(v for out, _ in results for v in json.loads(out.strip().splitlines()[-1]))
    assert claimed == list(range(1, 4 * per_worker + 1))

    reg = MlflowRegistry(store["tracking_uri"], artifact_location=store["artifact_location"] or None)
    stored = reg.versions(name)
    assert [v.version for v in stored] == claimed
    payloads = {
        (
            json.loads((reg.load(f"{name}/{v.version}") / "asset.json").read_text())["worker"],
            json.loads((reg.load(f"{name}/{v.version}") / "asset.json").read_text())["i"],
        )
        for v in stored
    }
    assert payloads == {(w, i) for w in range(4) for i in range(per_worker)}
