"""Video analytics in process: camera configs, tracking, zones and lines, the trained ONNX detector, and
POST /v1/video/analyze without Ray (bad frames are 4xx, one camera's tracks carry over between requests)."""

from __future__ import annotations

import asyncio
import base64
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from events.video import VideoAnalyzer, VideoConfig
from models.video import CameraAnalytics, CameraConfig, CountingLine, Detection, Zone, load_cameras
from models.video.analytics import crossing
from registry import ValidationError
from serving.errors import install_error_handlers
from serving.routes_video import InProcessVideo, video_router


def png(frame: np.ndarray) -> bytes:
    return cv2.imencode(".png", frame)[1].tobytes()


def moving_box_frames(n: int, step: int = 6) -> list[np.ndarray]:
    frames = []
    for i in range(n):
        frame = np.full((120, 160, 3), 90, np.uint8)
        cv2.rectangle(frame, (10 + i * step, 50), (40 + i * step, 70), (250, 250, 250), -1)
        frames.append(frame)
    return frames


def test_shipped_cameras_load_and_bad_configs_say_what_is_wrong() -> None:
    cameras = load_cameras()
    assert {"overpass", "highway-italy", "plaza"} <= set(cameras)
    assert cameras["highway-italy"].masks and cameras["overpass"].zones[0].name == "road"
    with pytest.raises(ValidationError, match="'detector' of camera cam-1 must be one of"):
        CameraConfig("cam-1", detector="yolo")
    with pytest.raises(ValidationError, match="malformed"):
        CameraConfig("../etc")
    with pytest.raises(ValidationError, match="at least 3 points"):
        CameraConfig.from_dict("cam-2", {"zones": {"z": [[0, 0], [1, 1]]}})


def test_tracks_keep_ids_count_line_crossings_and_dwell() -> None:
    config = CameraConfig(
        "cam-1",
        zones=(Zone("east", ((80, 0), (160, 0), (160, 120), (80, 120))),),
        lines=(CountingLine("gate", (60, 0), (60, 120)),),
    )
    camera = CameraAnalytics(config)
    results = [
        camera.observe([Detection((10.0 + 8 * i, 50, 40.0 + 8 * i, 70), "vehicle")], float(i)) for i in range(12)
    ]
    assert {d["track_id"] for r in results for d in r.detections} == {1}
    crossings = [e for r in results for e in r.events if e["type"] == "crossing"]
    assert [(e["zone"], e["label"], e["crossings"], e["direction"]) for e in crossings] == [
        ("gate", "vehicle", 1, "out")
    ]
    occupancy = [e for e in results[-1].events if e["type"] == "occupancy"]
    assert occupancy[0]["zone"] == "east" and occupancy[0]["count"] == 1 and occupancy[0]["dwell_s"] > 0
    assert set(occupancy[0]) >= {"camera", "zone", "label", "count", "dwell_s", "hour"}
    assert crossing(CountingLine("l", (0, 10), (10, 10)), (5, 0), (5, 20)) == "in"
    assert crossing(CountingLine("l", (0, 10), (10, 10)), (50, 0), (50, 20)) is None  # beyond the segment


def _greedy_reference(tracker, detections: list[Detection]) -> list[tuple[int, int]]:
    """The matching rule written out pair by pair (what the tracker computes on arrays)."""
    from models.video.detections import iou

    candidates = []
    for track in tracker.tracks.values():
        for index, det in enumerate(detections):
            if det.label != track.label:
                continue
            overlap = iou(track.box, det.box)
            if overlap >= tracker.min_iou:
                candidates.append((2.0 + overlap, track.id, index))
                continue
            (ax, ay), (bx, by) = track.centre, det.centre
            diagonal = max(1.0, ((track.box[2] - track.box[0]) ** 2 + (track.box[3] - track.box[1]) ** 2) ** 0.5)
            closeness = 1.0 - ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / (tracker.max_distance * diagonal)
            if closeness > 0:
                candidates.append((closeness, track.id, index))
    pairs, used_tracks, used_dets = [], set(), set()
    for _, track_id, index in sorted(candidates, reverse=True):
        if track_id not in used_tracks and index not in used_dets:
            pairs.append((track_id, index))
            used_tracks.add(track_id)
            used_dets.add(index)
    return pairs


def test_tracker_matches_like_the_pairwise_rule_in_crowded_scenes() -> None:
    from models.video.tracker import ObjectTracker

    rng = np.random.default_rng(7)
    tracker = ObjectTracker()
    for frame in range(60):
        n = int(rng.integers(0, 40))
        corners = rng.uniform(0, 300, (n, 2))
        sizes = rng.uniform(4, 40, (n, 2))
        labels = rng.choice(["vehicle", "person"], n)
        detections = [
            Detection((*map(float, c), *map(float, c + wh)), str(label))
            for c, wh, label in zip(corners, sizes, labels, strict=True)
        ]
        assert tracker._match(detections) == _greedy_reference(tracker, detections)
        tracker.update(detections, float(frame))
    assert len(tracker.tracks) > 20


def test_motion_detector_finds_a_moving_box() -> None:
    camera = CameraAnalytics(CameraConfig("cam-1", zones=(Zone("all", ((0, 0), (160, 0), (160, 120), (0, 120))),)))
    frames = [np.full((120, 160, 3), 90, np.uint8)] * 20 + moving_box_frames(10)
    results = camera.run(frames, [i / 10 for i in range(len(frames))])
    assert [r.counts["all"].get("vehicle", 0) for r in results[-5:]] == [1] * 5


@pytest.fixture(scope="module")
def trained_detector():
    from models.video.box_detector import BoxDetector, synthetic_street

    frames, truth = synthetic_street(1000, seed=1)
    return BoxDetector().fit(frames, truth)


def test_box_detector_learns_exports_and_declares_its_outputs(trained_detector) -> None:
    from models.video.box_detector import synthetic_street
    from models.video.onnx_detector import OnnxDetector

    frames, truth = synthetic_street(200, seed=7)
    served = OnnxDetector.from_path(trained_detector.to_onnx().SerializeToString())
    assert served.spec.labels == ("vehicle", "person") and served.spec.box_format == "xyxy"
    by_onnx, by_torch = served.detect(list(frames)), trained_detector.predict(frames)
    assert [len(d) for d in by_onnx] == [len(d) for d in by_torch]  # the export decodes like the model
    right = sum(len(found) == len(objects) for found, objects in zip(by_onnx, truth, strict=True))
    assert right / len(truth) >= 0.7, right


@pytest.fixture
def client(tmp_path) -> TestClient:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        "cameras:\n  cam-1: {detector: motion, zones: {all: [[0, 0], [160, 0], [160, 120], [0, 120]]}}\n"
    )
    config = VideoConfig(cameras_file=str(cameras), max_frames=8, max_pixels=200 * 200)
    app = FastAPI()
    install_error_handlers(app)
    analyzer = VideoAnalyzer(config)
    app.include_router(video_router(InProcessVideo(analyzer), config))
    return TestClient(app)


def test_tracks_carry_over_between_requests_of_one_camera(client: TestClient) -> None:
    frames = [np.full((120, 160, 3), 90, np.uint8)] * 8 + moving_box_frames(8)
    b64 = [base64.b64encode(png(f)).decode() for f in frames]
    assert client.post("/v1/video/analyze", json={"camera": "cam-1", "frames": b64[:8]}).status_code == 200
    first = client.post("/v1/video/analyze", json={"camera": "cam-1", "frames": b64[8:12]}).json()
    files = [("frames", (f"{i}.png", png(f), "image/png")) for i, f in enumerate(frames[12:])]
    second = client.post("/v1/video/analyze", data={"camera": "cam-1"}, files=files).json()
    ids = {d["track_id"] for r in first["frames"][1:] + second["frames"] for d in r["detections"]}
    assert len(ids) == 1 and second["frames"][-1]["counts"]["all"] == {"vehicle": 1}
    assert second["frames"][0]["t"] > first["frames"][-1]["t"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"camera": "cam-1", "frames": [base64.b64encode(b"hello").decode()]}, 422, "not JPEG or PNG"),
        ({"camera": "cam-1", "frames": [""]}, 422, "empty"),
        (
            {"camera": "cam-1", "frames": ["/9j/4AAQSkZJRgABAQAAAQABAAD/wAARCAAQABADASIAAhEBAxEB/9oADAMBAAIRAxEAPwA="]},
            422,
            "damaged",
        ),
        ({"camera": "cam-1", "frames": ["%%%"]}, 422, "base64"),
        ({"camera": "cam-1", "frames": []}, 400, "frames"),
        ({"camera": "cam-9", "frames": ["AAAA"]}, 404, "unknown camera"),
        ({"camera": "../x", "frames": ["AAAA"]}, 400, "camera: must be a camera id"),
        ({"frames": ["AAAA"]}, 400, "camera"),
    ],
)
def test_bad_frames_get_a_clear_4xx(client: TestClient, body: dict, status: int, words: str) -> None:
    if body.get("frames") == ["AAAA"]:
        body = {**body, "frames": [base64.b64encode(png(np.zeros((8, 8, 3), np.uint8))).decode()]}
    response = client.post("/v1/video/analyze", json=body)
    assert response.status_code == status and words in response.json()["error"], response.text


def test_huge_frames_zero_size_clips_and_disorder_are_refused(client: TestClient) -> None:
    huge = png(np.zeros((300, 300, 3), np.uint8))
    response = client.post(
        "/v1/video/analyze", data={"camera": "cam-1"}, files=[("frames", ("a.png", huge, "image/png"))]
    )
    assert response.status_code == 422 and "limit is 40000" in response.json()["error"]
    response = client.post("/v1/video/analyze", data={"camera": "cam-1"}, files=[("clip", ("c.avi", b"", "video/avi"))])
    assert response.status_code == 422 and "empty" in response.json()["error"]
    response = client.post(
        "/v1/video/analyze", data={"camera": "cam-1"}, files=[("clip", ("c.avi", b"junk" * 9, "video/avi"))]
    )
    assert response.status_code == 422 and "clip" in response.json()["error"]
    frame = base64.b64encode(png(np.zeros((8, 8, 3), np.uint8))).decode()
    assert (
        client.post("/v1/video/analyze", json={"camera": "cam-1", "frames": [frame], "timestamps": [100.0]}).status_code
        == 200
    )
    late = client.post("/v1/video/analyze", json={"camera": "cam-1", "frames": [frame], "timestamps": [50.0]})
    assert late.status_code == 422 and "in order" in late.json()["error"]
    assert (
        client.post("/v1/video/analyze", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    )
    assert client.post("/v1/video/analyze", content=b"x", headers={"content-type": "text/plain"}).status_code == 400


def test_a_short_clip_is_analysed_frame_by_frame(client: TestClient, tmp_path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for frame in moving_box_frames(6):
        writer.write(frame)
    writer.release()
    files = [("clip", ("clip.avi", path.read_bytes(), "video/x-msvideo"))]
    body = client.post("/v1/video/analyze", data={"camera": "cam-1"}, files=files).json()
    assert len(body["frames"]) == 6 and body["camera"] == "cam-1"
    assert body["frames"][1]["t"] - body["frames"][0]["t"] == pytest.approx(0.1)


def test_box_detector_follows_the_model_contract() -> None:
    import doctest

    import models.video.box_detector as module
    from models.base import NotFittedError
    from models.video.box_detector import BoxDetector

    params = BoxDetector(epochs=3, seed=5).get_params()
    assert BoxDetector(**params).get_params() == params and params["labels"] == ("vehicle", "person")
    with pytest.raises(NotFittedError):
        BoxDetector().predict(np.zeros((1, 96, 128, 3), np.uint8))
    assert BoxDetector.tags.task == "detection" and BoxDetector.tags.input_kind == "image"
    assert doctest.testmod(module).failed == 0


def test_generated_requests_never_get_a_server_error(client: TestClient) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert [op.path for op in operations] == ["/v1/video/analyze"]
    for operation in operations:

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        call()


def test_a_camera_always_goes_to_the_same_shard() -> None:
    from events.video import FrameClip
    from serving.routes_video import FrameForwarder
    from serving.video_deployment import camera_shard

    cameras = [f"cam-{i}" for i in range(400)]
    assert camera_shard("overpass", 2) == 0 and camera_shard("street-demo", 2) == 1  # a digest: no per-process salt
    assert all(105 <= [camera_shard(c, 3) for c in cameras].count(k) <= 161 for k in range(3))  # 400 / 3 ± 3 sd
    assert {camera_shard(c, 1) for c in cameras} == {0}

    class Shard:  # a deployment handle's interface, recording what it was sent
        def __init__(self) -> None:
            self.cameras: list[str] = []
            self.analyze_many = SimpleNamespace(remote=self.remote)

        async def remote(self, clips: list[FrameClip]) -> list[dict]:
            self.cameras += [c.camera for c in clips]
            return [{"camera": c.camera} for c in clips]

    shards = [Shard(), Shard(), Shard()]
    forwarder = FrameForwarder(shards)
    for camera in cameras[:30]:
        assert asyncio.run(forwarder.forward(FrameClip(camera, [b""]))) == {"camera": camera}
    for k, shard in enumerate(shards):
        assert shard.cameras == [c for c in cameras[:30] if camera_shard(c, 3) == k]


def test_a_grey_detector_gets_its_frames_decoded_in_one_channel(trained_detector) -> None:
    """The video replica decodes a grey detector's JPEG frames straight to grey (a third faster than colour):
    one channel reaches the detector, and it finds what it finds on colour frames, across chunks of a batch."""
    from events.video import FrameChunk, detect_chunks
    from models.components.image_decode import ImageDecoder
    from models.video.box_detector import synthetic_street
    from models.video.onnx_detector import OnnxDetector

    channels: list[int] = []

    class Recording(OnnxDetector):
        def detect(self, frames: list) -> list:
            channels.extend(frame.shape[2] for frame in frames)
            return super().detect(frames)

    served = Recording.from_path(trained_detector.to_onnx().SerializeToString())
    decoder = ImageDecoder()
    jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for f in synthetic_street(40, seed=5)[0]]
    found = detect_chunks(decoder, [FrameChunk(served, jpegs[:25]), FrameChunk(served, jpegs[25:], 25)])
    assert channels == [1] * 40
    on_colour = OnnxDetector.detect(served, [decoder.pixels(j) for j in jpegs])
    assert [len(d) for d in found[0] + found[1]] == [len(d) for d in on_colour]
    assert sum(map(len, on_colour)) > 20  # frames with objects, not empty answers compared


def test_people_settings_read_person_height_as_a_range_or_by_row() -> None:
    from models.video.camera import PeopleSettings
    from models.video.people import PeopleDetector

    flat = CameraConfig.from_dict("cam-p", {"detector": "people", "people": {"person_height": [40, 300]}})
    assert flat.people.person_height == ((0.0, 40.0, 300.0),)
    assert [(b.top, b.bottom) for b in PeopleDetector(flat.people).bands(272)] == [(0, 272)]
    rows = PeopleSettings.from_dict("cam-p", {"person_height": {270: [60, 120], 120: [20, 40]}})
    bands = PeopleDetector(rows).bands(480)
    assert [(b.top, b.bottom, b.smallest, b.tallest) for b in bands] == [(0, 270, 20, 120), (270, 480, 60, 120)]
    with pytest.raises(ValidationError, match=r"person_height at row 0: expected 8 <= smallest <= tallest"):
        PeopleSettings.from_dict("cam-p", {"person_height": [300, 40]})
    with pytest.raises(ValidationError, match=r"people\.person_height expects"):
        PeopleSettings.from_dict("cam-p", {"person_height": "tall"})
    with pytest.raises(ValidationError, match=r"unknown keys people.\['height'\]"):
        PeopleSettings.from_dict("cam-p", {"height": 3})


def test_a_box_out_of_focus_is_not_a_person_however_dark_a_sharp_one_is() -> None:
    """HOG normalises contrast away: a blurred copy of the same stripes is as good a window to it as the sharp one.
    The focus check must not be a contrast check: faint sharp stripes (a backlit person) stay."""
    from models.video.camera import PeopleSettings
    from models.video.people import in_focus, sharpness

    frame = np.zeros((128, 192, 3), np.uint8)
    for x in range(4):
        frame[:, x:64:8] = 200  # 4-px stripes: edges every 4 px
    for y in (20, 60, 100):  # street lights out of focus
        cv2.circle(frame, (96, y), 14, (220, 220, 220), -1)
    frame[:, 64:128] = cv2.GaussianBlur(frame[:, 64:128], (0, 0), 6)
    frame[:, 128:] = frame[:, :64] // 10  # the same stripes, 20 grey levels
    sharp, faint = Detection((4.0, 0.0, 60.0, 128.0), "person", 1.0), Detection((132.0, 0.0, 188.0, 128.0), "person")
    blurred = Detection((68.0, 0.0, 124.0, 128.0), "person", 2.0)
    high, low, dark = sharpness(frame, [sharp.box, blurred.box, faint.box])
    assert high > 0.5 and low < 0.1 and abs(dark - high) < 0.05
    assert in_focus(frame, [sharp, blurred, faint], 0.25) == [sharp, faint]
    assert in_focus(frame[:, :, 0], [sharp, blurred], 0.25) == [sharp]  # a grey frame too
    assert in_focus(frame, [sharp, blurred], 0) == [sharp, blurred]
    assert sharpness(frame, [(10.0, 10.0, 10.0, 40.0)]) == [0.0]  # an empty box is not in focus
    assert load_cameras()["street"].people.min_sharpness == 0.25
    with pytest.raises(ValidationError, match=r"people.min_sharpness must be in \[0, 1\). Got 1.5"):
        PeopleSettings(min_sharpness=1.5)


def test_smoothed_counts_skip_one_frame_detections_and_hold_a_missed_person() -> None:
    config = CameraConfig.from_dict("cam-s", {"smoothing": {"min_hits": 2, "hold": 2}})
    camera = CameraAnalytics(config)
    person = Detection((10.0, 10, 30, 60), "person")
    ghost = Detection((100.0, 10, 120, 60), "person")
    seen = [[person, ghost], [person], [], [], [], [person]]
    counts = [camera.observe(dets, float(i)).counts["frame"].get("person", 0) for i, dets in enumerate(seen)]
    # frame 0: nobody confirmed yet; 1: the person (2 hits), never the one-frame ghost; 2-3: held; 4: gone
    assert counts == [0, 1, 1, 1, 0, 1]
    raw = CameraAnalytics(CameraConfig("cam-r"))
    assert [raw.observe(dets, float(i)).counts["frame"].get("person", 0) for i, dets in enumerate(seen)] == [
        2,
        1,
        0,
        0,
        0,
        1,
    ]


@pytest.mark.parametrize("shape", [(1, 1, 3), (16, 16, 3), (16, 400, 3), (400, 16, 3), (130, 70, 3)])
def test_a_frame_smaller_than_the_window_finds_nobody_and_does_not_crash(shape: tuple[int, int, int]) -> None:
    """OpenCV's HOG segfaulted (and took a Ray replica with it) on a frame that scaled below its 64×128 window."""
    from models.video.camera import load_cameras
    from models.video.people import PeopleDetector

    for camera in ("plaza", "street"):
        config = load_cameras()[camera]
        assert PeopleDetector(config.people, min_score=config.min_score).detect([np.zeros(shape, np.uint8)]) == [[]]
