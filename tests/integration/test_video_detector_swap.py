"""A registered ONNX detector is followed by the video deployment: when its alias moves the new version detects
the next frames; a version that fails to load keeps the old one in service and says why."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from events.video import FrameClip, VideoAnalyzer, VideoConfig
from registry import AssetNotFound, MlflowRegistry


def register(reg: MlflowRegistry, name: str, model: Any, path: Path) -> int:
    import onnx

    onnx.save(model, str(path))
    version = reg.register("model", name, str(path)).version
    reg.set_alias(name, "champion", version)
    return version


def analyzer_for(reg: MlflowRegistry, tmp_path: Path, camera: str, detector: str) -> VideoAnalyzer:
    """The video analytics of a video deployment, in process, with one camera served by the registered ``detector``."""
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  {camera}: {{detector: 'onnx:{detector}'}}\n")
    return VideoAnalyzer(VideoConfig(cameras_file=str(cameras)), registry=lambda: reg, refresh_interval=0.2)


def labels_seen(analyzer: VideoAnalyzer, camera: str, frames: list[Any]) -> set[str]:
    result = asyncio.run(analyzer.analyze(FrameClip(camera, frames)))
    return {d["label"] for frame in result["frames"] for d in frame["detections"]}


def wait_for(condition: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.05)


def test_the_detector_follows_its_alias_and_a_broken_version_keeps_the_old_one(
    reg: MlflowRegistry, tmp_path: Path, unique: str
) -> None:
    from models.video.box_detector import BoxDetector, synthetic_street
    from models.video.onnx_detector import OnnxDetector, declare_detector

    name = f"swap-detector-{unique}"
    first = BoxDetector().fit(*synthetic_street(600, seed=1)).to_onnx()
    v1 = register(reg, name, first, tmp_path / "v1.onnx")
    analyzer = analyzer_for(reg, tmp_path, "street-1", name)
    test_frames = list(synthetic_street(16, seed=5)[0])
    assert labels_seen(analyzer, "street-1", test_frames) == {"vehicle", "person"}
    follower = analyzer.detectors[name]
    assert follower.version == v1

    spec = OnnxDetector.from_path(first.SerializeToString()).spec  # the same network, its classes renamed
    renamed = declare_detector(first, dataclasses.replace(spec, labels=("car", "pedestrian")))
    v2 = register(reg, name, renamed, tmp_path / "v2.onnx")
    wait_for(lambda: follower.version == v2, f"swap to version {v2}")
    assert labels_seen(analyzer, "street-1", test_frames) == {"car", "pedestrian"}

    undeclared = type(first)()
    undeclared.CopyFrom(first)
    del undeclared.metadata_props[:]  # no detector declaration: refused when it loads
    v3 = register(reg, name, undeclared, tmp_path / "v3.onnx")
    wait_for(lambda: follower.error is not None, f"a refusal of version {v3}")
    assert follower.version == v2 and "declares no detector output format" in str(follower.last_error)
    assert labels_seen(analyzer, "street-1", test_frames) == {"car", "pedestrian"}  # still version 2
    follower.stop()


def test_an_unknown_detector_is_a_clear_error(reg: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    analyzer = analyzer_for(reg, tmp_path, "street-2", f"nothing-{unique}")
    frames = [np.zeros((96, 128, 3), np.uint8)]
    with pytest.raises(AssetNotFound, match=f"nothing-{unique}@champion cannot be served"):
        asyncio.run(analyzer.analyze(FrameClip("street-2", frames)))
    assert analyzer.detectors == {}  # nothing half-made kept: the next request tries again
