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


def test_alias_moves_at_once_lose_no_history(store: dict[str, str], unique: str, tmp_path: Path) -> None:
    """Eight writers move one alias at once (threads, each with its own client): every move is in the history, so
    a rollback goes where the alias last was. ef3d69f read, changed and wrote one tag: on an MLflow server with no
    lock, moves were lost."""
    import threading

    name = f"alias-race-{unique}"
    source = tmp_path / "asset.json"
    source.write_text('{"format": "citymind.component/1", "component": "text.normalize", "params": {}}')
    first = MlflowRegistry(store["tracking_uri"], artifact_location=store["artifact_location"] or None)
    versions = [first.register("component", name, source).version for _ in range(8)]
    barrier = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def move(version: int) -> None:
        writer = MlflowRegistry(store["tracking_uri"], artifact_location=store["artifact_location"] or None)
        writer.get(name)  # the client is ready before the race
        barrier.wait()
        try:
            writer.set_alias(name, "production", version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    history = first._alias_history(name, "production")
    assert errors == [] and sorted(history) == versions, (errors, history)
    current = first.get(name).aliases["production"]
    assert first.rollback(name, "production").version in versions and first.get(name).aliases["production"] != current
