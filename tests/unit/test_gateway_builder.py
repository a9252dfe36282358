"""The Serve application builder a RayService (or `serve run serving.deployments:app k=v`) imports: settings from
the CITYMIND_* environment, GatewayConfig fields from the config's ``args`` (text from the CLI converted)."""

from __future__ import annotations

import pytest


def test_args_set_gateway_config_fields_and_text_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    from citymind.settings import get_settings
    from serving.deployments import config_from_args

    monkeypatch.setenv("CITYMIND_TRACKING_URI", "http://mlflow.citymind.svc:5000")
    monkeypatch.setenv("CITYMIND_HOST", "0.0.0.0")
    get_settings.cache_clear()
    try:
        config = config_from_args(
            {"ingress_replicas": "3", "runner_replicas": 2, "max_replicas_per_node": "1", "preload": "a, b"}
        )
    finally:
        get_settings.cache_clear()
    assert (config.tracking_uri, config.host, config.artifact_location) == (
        "http://mlflow.citymind.svc:5000",
        "0.0.0.0",
        None,  # the tracking server decides (mlflow-artifacts:/ proxied to its object store)
    )
    assert (config.ingress_replicas, config.runner_replicas, config.max_replicas_per_node) == (3, 2, 1)
    assert config.preload == ("a", "b")
    with pytest.raises(TypeError, match="ingress_replica"):
        config_from_args({"ingress_replica": 2})


def test_the_builder_returns_the_gateway_application() -> None:
    from ray.serve import Application

    from serving.deployments import app

    assert isinstance(app({"ingress_replicas": "2", "max_replicas_per_node": "1"}), Application)


def test_video_settings_come_from_the_environment_and_args(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from citymind.settings import get_settings
    from serving.deployments import GatewayConfig, config_from_args

    cameras = tmp_path / "cameras.yaml"
    monkeypatch.setenv("CITYMIND_CAMERAS_FILE", str(cameras))
    monkeypatch.setenv("CITYMIND_VIDEO_SHARDS", "3")
    get_settings.cache_clear()
    try:
        assert GatewayConfig.from_settings().video.shards == 3
        config = config_from_args({"video_shards": "2", "video_batch_wait_timeout_s": "0.01", "ingress_replicas": 2})
        with pytest.raises(TypeError, match=r"video_shard; known: .*video_shards"):
            config_from_args({"video_shard": 2})
    finally:
        get_settings.cache_clear()
    assert config.video is not None and config.ingress_replicas == 2
    assert (config.video.cameras_file, config.video.shards, config.video.batch_wait_timeout_s) == (
        str(cameras),
        2,
        0.01,
    )
    monkeypatch.delenv("CITYMIND_CAMERAS_FILE")
    monkeypatch.delenv("CITYMIND_VIDEO_SHARDS")
    get_settings.cache_clear()
    default = GatewayConfig.from_settings().video
    get_settings.cache_clear()
    assert default is not None and (default.shards, default.cameras_file) == (1, None)  # None: the shipped cameras
