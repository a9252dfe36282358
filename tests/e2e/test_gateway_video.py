"""POST /v1/video/analyze through the real Ray Serve gateway: the video-analyzer deployment batches frames,
keeps tracks per camera across requests, serves a registered ONNX detector, and answers bad input with 4xx."""

from __future__ import annotations

import base64
import re
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import numpy as np


def b64png(frame: np.ndarray) -> str:
    return base64.b64encode(cv2.imencode(".png", frame)[1].tobytes()).decode()


def test_a_registered_onnx_detector_is_served_batched_with_tracks(
    client: httpx.Client, gateway_registry, tmp_path
) -> None:
    from models.video.box_detector import BoxDetector, synthetic_street

    frames, truth = synthetic_street(1000, seed=1)
    path = tmp_path / "detector.onnx"
    path.write_bytes(BoxDetector().fit(frames, truth).to_onnx().SerializeToString())
    version = gateway_registry.register("model", "street-box-detector", str(path))
    gateway_registry.set_alias("street-box-detector", "champion", version.version)

    test_frames, test_truth = synthetic_street(64, seed=5)
    chunks = [[b64png(f) for f in test_frames[i : i + 8]] for i in range(0, 64, 8)]
    with ThreadPoolExecutor(8) as pool:  # eight cameras' worth of concurrent requests for one camera id
        bodies = list(
            pool.map(lambda c: client.post("/v1/video/analyze", json={"camera": "street-demo", "frames": c}), chunks)
        )
    assert all(b.status_code == 200 for b in bodies), bodies[0].text
    found = [len(f["detections"]) for b in bodies for f in b.json()["frames"]]
    right = sum(n == len(objects) for n, objects in zip(found, test_truth, strict=True))
    assert right / 64 >= 0.7
    assert all(
        d["track_id"] >= 1 and d["label"] in ("vehicle", "person")
        for b in bodies
        for f in b.json()["frames"]
        for d in f["detections"]
    )


def test_one_cameras_tracks_continue_across_requests(client: httpx.Client) -> None:
    def frame(x: int) -> np.ndarray:
        image = np.full((240, 320, 3), 90, np.uint8)
        if x >= 0:
            cv2.rectangle(image, (x, 150), (x + 40, 180), (250, 250, 250), -1)
        return image

    background = [b64png(frame(-1))] * 10
    assert client.post("/v1/video/analyze", json={"camera": "overpass", "frames": background}).status_code == 200
    ids = set()
    for start in (20, 60, 100):
        moving = [b64png(frame(x)) for x in range(start, start + 40, 8)]
        body = client.post("/v1/video/analyze", json={"camera": "overpass", "frames": moving}).json()
        ids |= {d["track_id"] for f in body["frames"][1:] for d in f["detections"]}
    assert len(ids) == 1


def test_bad_frames_and_cameras_are_4xx_through_ray(client: httpx.Client) -> None:
    ok = b64png(np.zeros((16, 16, 3), np.uint8))
    cases = [
        ({"camera": "overpass", "frames": [base64.b64encode(b"GIF89a").decode()]}, 422),
        ({"camera": "nowhere", "frames": [ok]}, 404),
        ({"camera": "overpass", "frames": [ok], "timestamps": [1.0, 2.0]}, 422),
    ]
    for body, status in cases:
        response = client.post("/v1/video/analyze", json=body)
        assert response.status_code == status, response.text
    # a frame whose header reads but whose data is cut: found where it is decoded, in the video replica
    cut = base64.b64encode(cv2.imencode(".jpg", np.full((64, 64, 3), 90, np.uint8))[1].tobytes()[:200]).decode()
    response = client.post("/v1/video/analyze", json={"camera": "overpass", "frames": [ok, cut]})
    assert response.status_code == 422 and response.json()["error"].startswith("frames[1]: "), response.text
    assert "damaged" in response.json()["error"]
    big = cv2.imencode(".png", np.zeros((1200, 2000, 1), np.uint8))[1].tobytes()
    response = client.post(
        "/v1/video/analyze", data={"camera": "plaza"}, files=[("frames", ("big.png", big, "image/png"))]
    )
    assert response.status_code == 422 and "limit" in response.json()["error"]
    assert (
        client.post("/v1/video/analyze", json={"camera": "plaza", "frames": [ok], "timestamps": [7e9]}).status_code
        == 200
    )
    late = client.post("/v1/video/analyze", json={"camera": "plaza", "frames": [ok], "timestamps": [1.0]})
    assert late.status_code == 422 and "in order" in late.json()["error"]


def test_cameras_are_sharded_over_video_deployments(client: httpx.Client) -> None:
    import psutil

    from serving.video_deployment import camera_shard

    replicas = set()
    for proc in psutil.Process().children(recursive=True):  # this session's Ray only
        try:
            replicas |= set(re.findall(r"ServeReplica:citymind:(video[\w-]*)", " ".join(proc.cmdline())))
        except psutil.Error:
            continue
    assert replicas == {"video-analyzer-0", "video-analyzer-1"}  # the session gateway runs VideoConfig(shards=2)
    assert {camera_shard("overpass", 2), camera_shard("street-demo", 2)} == {0, 1}  # the tests above used both
