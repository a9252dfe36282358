"""Settings: embedded defaults bound to 127.0.0.1, every field overridable from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from citymind.settings import Settings


def test_defaults_are_embedded_and_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("HOME", "TRACKING_URI", "HOST", "PORT", "RAY_ADDRESS", "ARTIFACT_LOCATION"):
        monkeypatch.delenv(f"CITYMIND_{var}", raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.host == "127.0.0.1" and s.port == 8000 and s.ray_address == ""
    assert s.resolved_tracking_uri == f"sqlite:///{tmp_path / '.citymind' / 'mlflow.db'}"
    assert s.embedded and s.resolved_artifact_location == (tmp_path / ".citymind" / "artifacts").as_uri()


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITYMIND_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("CITYMIND_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("CITYMIND_PORT", "9001")
    monkeypatch.setenv("CITYMIND_SHARED_DATA", "/data/city")
    s = Settings()
    assert s.resolved_home == tmp_path / "h" and s.port == 9001 and s.shared_data == Path("/data/city")
    assert not s.embedded and s.resolved_artifact_location is None  # the server decides


def test_bad_port_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYMIND_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        Settings()
