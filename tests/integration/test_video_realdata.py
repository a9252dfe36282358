"""Acceptance on real footage: vehicle counts in each camera's counting zone against counts labelled by hand
(tests/data/video_vehicle_counts.yaml), within ±1 on at least 80% of the labelled frames of each video."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.video import CameraAnalytics, load_cameras

LABELS = Path(__file__).resolve().parents[1] / "data" / "video_vehicle_counts.yaml"


def counted(video: Path, camera: str, zone: str, frames: set[int]) -> dict[int, int]:
    import cv2

    analytics = CameraAnalytics(load_cameras()[camera])
    capture = cv2.VideoCapture(str(video))
    out, index = {}, 0
    while index <= max(frames):
        ok, frame = capture.read()
        assert ok, f"{video} ended at frame {index}"
        result = analytics.run([frame], [index / 25])[0]
        if index in frames:
            out[index] = result.counts[zone].get("vehicle", 0)
        index += 1
    return out


@pytest.mark.realdata
@pytest.mark.parametrize("video", sorted(yaml.safe_load(LABELS.read_text())))
def test_vehicle_counts_match_hand_labels(shared_data: Path, video: str) -> None:
    spec = yaml.safe_load(LABELS.read_text())[video]
    truth: dict[int, int] = spec["counts"]
    assert len(truth) >= 20
    got = counted(shared_data / "video" / video, spec["camera"], spec["zone"], set(truth))
    within = sum(abs(got[i] - n) <= 1 for i, n in truth.items()) / len(truth)
    print(f"{video}: {within:.0%} of {len(truth)} frames within ±1; errors {[got[i] - n for i, n in truth.items()]}")
    assert within >= 0.8
