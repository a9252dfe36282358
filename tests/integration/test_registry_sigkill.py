"""A writer killed with SIGKILL in the middle of a registration (at every step of it, and at random times) never
leaves a half-registered version, let alone one carrying an alias; the next registration just works."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from registry import MlflowRegistry

WRITER = "tests.integration._sigkill_writer"
REPO = Path(__file__).resolve().parents[2]
#: every step of ``register`` + ``set_alias``, in order (the first only happens for a new asset)
POINTS = [
    "after:create_registered_model",
    "before:create_run",
    "after:create_run",
    "mid:log_artifacts",
    "after:log_artifacts",
    "after:set_terminated",
    "after:create_model_version",
    "after:set_registered_model_alias",
    "after:set_registered_model_tag",
]


@pytest.mark.parametrize("store", ["embedded", "postgres"], indirect=True)
def test_sigkill_mid_registration_leaves_no_half_version_behind(
    store: dict[str, str], tmp_path: Path, unique: str
) -> None:
    name = f"sigkill-{unique}"
    rng = random.Random(unique)
    delays = [round(rng.uniform(0.1, 2.5), 2) for _ in range(3)]  # one registration takes ~1-2.5 s here
    points = [*POINTS, *(f"random:{d}" for d in delays)]
    done = subprocess.run(
        [sys.executable, "-m", WRITER, store["tracking_uri"], store["artifact_location"], name, str(tmp_path), *points],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    # every fixed point was reached, and no child failed before its kill (exit 3 would be a registry error)
    assert [o["point"] for o in outcomes if not o["killed"]] == [], (outcomes, done.stderr[-3000:])

    reg = MlflowRegistry(
        store["tracking_uri"], artifact_location=store["artifact_location"] or None, cache_dir=tmp_path / "cache"
    )
    versions = {v.version: v for v in reg.versions(name)}
    assert versions, "the kills after create_model_version left versions behind"
    for version in versions.values():  # every version that exists is complete: tags and a loadable artifact
        assert version.format == "onnx" and version.tags["seq"].isdigit(), version
        assert_serves(reg, f"{name}/{version.version}", int(version.tags["seq"]))
    aliases = reg.get(name).aliases
    assert aliases["champion"] in versions
    assert_serves(reg, f"{name}@champion", int(versions[aliases["champion"]].tags["seq"]))

    # still usable: the next writer registers, moves the alias, and it can be rolled back
    from tests.integration._assets import tiny_onnx

    new = reg.register("model", name, tiny_onnx(tmp_path / "next.onnx", scale=7.0), tags={"seq": "7"})
    assert new.version == max(versions) + 1
    assert reg.set_alias(name, "champion", new.version).aliases == ("champion",)
    assert_serves(reg, f"{name}@champion", 7)
    assert reg.rollback(name, "champion").version in versions


def assert_serves(reg: MlflowRegistry, ref: str, seq: int) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(reg.load(ref)), providers=["CPUExecutionProvider"])
    out = session.run(None, {"x": np.ones((1, 4), dtype=np.float32)})[0]
    assert out.tolist() == [[4.0 * seq, 4.0 * seq]], ref
