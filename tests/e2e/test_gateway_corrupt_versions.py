"""A model version whose stored ONNX was corrupted on disk after registration is refused by the gateway when the
alias moves to it: the previous version keeps answering, `/v1/models/refresh` reports the error, asking for the
bad version by number is a 409, and a good version after it goes into service as usual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.corruption import MODES, corrupt, stored_file
from tests.integration._assets import tiny_onnx

ONES = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1.0, 1.0, 1.0, 1.0]}]}


def test_a_corrupt_model_version_is_refused_and_the_previous_keeps_serving(
    client: httpx.Client, gateway_registry: Any, tmp_path: Path, unique: str
) -> None:
    name = f"corrupt-probe-{unique}"
    reg = gateway_registry
    reg.set_alias(name, "champion", reg.register("model", name, tiny_onnx(tmp_path / "v1.onnx", 1.0)).version)
    assert answer(client, name) == ("1", [4.0, 4.0])

    for mode in MODES:  # each corrupt version in turn becomes champion and is refused
        bad = reg.register("model", name, tiny_onnx(tmp_path / f"{mode}.onnx", 2.0))
        corrupt(stored_file(bad.source, "model.onnx"), mode, needle=np.float32(2.0).tobytes())
        reg.set_alias(name, "champion", bad.version)

        refreshed = client.post("/v1/models/refresh").json()
        assert refreshed["changes"][name]["to"] is None, (mode, refreshed)
        assert f"version {bad.version}" in refreshed["errors"][name], (mode, refreshed["errors"][name])
        assert answer(client, name) == ("1", [4.0, 4.0]), mode
        pinned = client.post(f"/v2/models/{name}/versions/{bad.version}/infer", json=ONES)
        assert pinned.status_code == 409 and "not what was registered" in pinned.json()["error"], (mode, pinned.text)

    good = reg.register("model", name, tiny_onnx(tmp_path / "good.onnx", 3.0))
    reg.set_alias(name, "champion", good.version)
    refreshed = client.post("/v1/models/refresh").json()
    assert refreshed["changes"].get(name, {}).get("to") in (good.version, None), refreshed  # the watcher may be first
    assert answer(client, name) == (str(good.version), [12.0, 12.0])


def answer(client: httpx.Client, name: str) -> tuple[str, list[float]]:
    response = client.post(f"/v2/models/{name}/infer", json=ONES)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["model_version"], body["outputs"][0]["data"]
