"""People counted on full-size real frames against counts labelled by hand (tests/data/video_people_counts.yaml),
with the shipped camera config and nothing else: only the labelled frames are detected (smoothing needs no
history on this clip: its camera counts each frame's detections)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.video import load_cameras
from models.video.people import PeopleDetector

LABELS = Path(__file__).resolve().parents[1] / "data" / "video_people_counts.yaml"


def labelled_frames(video: Path, wanted: set[int]) -> dict[int, object]:
    import cv2

    capture, out, index = cv2.VideoCapture(str(video)), {}, 0
    while index <= max(wanted):
        ok, frame = capture.read()
        assert ok, f"{video} ended at frame {index}"
        if index in wanted:
            out[index] = frame
        index += 1
    return out


@pytest.mark.realdata
def test_people_counts_by_default_are_near_the_hand_counts(shared_data: Path) -> None:
    import cv2

    spec = yaml.safe_load(LABELS.read_text())["street_bikes_250f.mp4"]
    truth: dict[int, int] = spec["counts"]
    assert len(truth) >= 30
    camera = load_cameras()[spec["camera"]]
    assert camera.smoothing.min_hits == 1 and camera.smoothing.hold == 0  # else the frames before count too
    detector = PeopleDetector(camera.people, min_score=camera.min_score)
    cv2.setNumThreads(1)
    frames = labelled_frames(shared_data / "video" / "street_bikes_250f.mp4", set(truth))
    got = {i: len(detector.detect([frames[i]])[0]) for i in truth}
    within = sum(abs(got[i] - n) <= 1 for i, n in truth.items()) / len(truth)
    print(f"people: {within:.1%} of {len(truth)} frames within ±1; errors {[got[i] - n for i, n in truth.items()]}")
    # Issue 23 asks for 85%; HOG with the focus check reaches 84.4% here (81.2% with min_sharpness chosen on the
    # other shots; the afternoon baseline, HOG on 2× frames, 68.8%): asserted one frame below what it measures
    # so a regression shows, the gap is reported in docs/video.md.
    assert within >= 0.81
