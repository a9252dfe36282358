"""Models change under a running gateway: alias moves swap versions with no failed request, and a data
scientist's own ONNX model is served once it has the champion alias — no code change, no restart."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np


def test_alias_move_under_load_loses_no_request(gateway: str, gateway_registry: Any, tmp_path: Path) -> None:
    from models.text.event_classifier import EventClassifier
    from training.text.data import load_labelled_texts
    from training.text.sample_corpus import generate_sample_reports

    data = load_labelled_texts(generate_sample_reports(tmp_path / "r.csv", seed=11), ["text"], "category")
    new = gateway_registry.register(
        "model",
        "event-classifier",
        EventClassifier(C=2.0, ngram_range=(1, 3)).fit(data.texts, data.labels).to_onnx(),
        tags={"citymind.model.latency_critical": "true"},
    )
    statuses: Counter[int] = Counter()
    versions: Counter[int] = Counter()
    failures: list[str] = []  # dropped connections, timeouts, bad bodies: anything but a 200 with a version
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=gateway, timeout=30) as http:
            while not stop.is_set():
                try:
                    response = http.post("/v1/events/classify", json={"text": "路口红绿灯坏了"})
                    statuses[response.status_code] += 1
                    if response.status_code == 200:
                        versions[response.json()["version"]] += 1
                except Exception as exc:  # a thread's exception would otherwise vanish with the thread
                    failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        gateway_registry.set_alias("event-classifier", "champion", new.version)
        deadline = time.monotonic() + 30
        while versions[new.version] < 50 and time.monotonic() < deadline:
            time.sleep(0.2)
        gateway_registry.rollback("event-classifier", "champion")
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == [], failures[:5]
    assert set(statuses) == {200}, statuses
    assert versions[1] > 0 and versions[new.version] >= 50, versions
    with httpx.Client(base_url=gateway, timeout=30) as http:
        assert http.post("/v1/events/classify", json={"text": "路灯不亮"}).json()["version"] == 1


def test_bring_your_own_onnx_model(gateway: str, gateway_registry: Any, tmp_path: Path) -> None:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3), torch.nn.Softmax(-1))
    path = tmp_path / "air_quality_level.onnx"
    torch.onnx.export(
        net.eval(),
        (torch.randn(1, 6),),
        str(path),
        input_names=["features"],
        output_names=["level"],
        dynamic_axes={"features": {0: "batch"}, "level": {0: "batch"}},
        dynamo=False,
    )
    env = {
        "CITYMIND_TRACKING_URI": gateway_registry.tracking_uri,
        "CITYMIND_ARTIFACT_LOCATION": gateway_registry.artifact_location,
        "PATH": "",
    }
    cli = [
        sys.executable,
        "-m",
        "citymind.cli",
        "registry",
        "register",
        "--kind",
        "model",
        "--name",
        "air-quality-level",
        "--file",
        str(path),
        "--alias",
        "champion",
    ]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    features = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(features)).numpy()
    with httpx.Client(base_url=gateway, timeout=30) as http:
        meta = http.get("/v2/models/air-quality-level").json()
        assert meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 6]}]
        body = {"inputs": [{"name": "features", "shape": [5, 6], "datatype": "FP32", "data": features.tolist()}]}
        response = http.post("/v2/models/air-quality-level/infer", json=body)
    assert response.status_code == 200, response.text
    out = response.json()["outputs"][0]
    assert out["name"] == "level" and out["shape"] == [5, 3]
    assert np.allclose(np.asarray(out["data"]).reshape(5, 3), expected, atol=1e-5)
