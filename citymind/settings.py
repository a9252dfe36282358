"""Typed settings of a citymind deployment, overridable by ``CITYMIND_*`` environment variables.

| setting            | env                        | default                          |
|--------------------|----------------------------|----------------------------------|
| home               | CITYMIND_HOME              | ./.citymind                      |
| tracking_uri       | CITYMIND_TRACKING_URI      | sqlite:///<home>/mlflow.db       |
| artifact_location  | CITYMIND_ARTIFACT_LOCATION | <home>/artifacts (embedded only) |
| host / port        | CITYMIND_HOST / _PORT      | 127.0.0.1 / 8000                 |
| ray_address        | CITYMIND_RAY_ADDRESS       | "" (start a local Ray)           |
| shared_data        | CITYMIND_SHARED_DATA       | ../shared/data                   |
| keys_file          | CITYMIND_KEYS_FILE         | <home>/keys.json                 |
| auth               | CITYMIND_AUTH              | auto (keys needed once any exist, or off loopback) |
| state_file         | CITYMIND_STATE_FILE        | <home>/event_state.json ("off": in memory only)     |
| model_run_timeout_s| CITYMIND_MODEL_RUN_TIMEOUT_S | 10 (a model run longer than this is stopped: 503)  |
| max_model_mb       | CITYMIND_MAX_MODEL_MB      | 512 (a larger model file is refused: 409)          |
| quotas             | CITYMIND_QUOTAS            | per-role rate/burst/concurrency (citymind.access.QUOTAS) |
| events_url         | CITYMIND_EVENTS_URL        | sqlite:///<home>/events.db, or postgresql://…; "off": none |
| retention_days     | CITYMIND_RETENTION_DAYS    | 365 (older event records are purged)                      |
| reporter_key_file  | CITYMIND_REPORTER_KEY_FILE | <home>/reporter.key (the key reporter ids are hashed with) |
| cache              | CITYMIND_CACHE             | ~/.cache/citymind (models built from shipped weights: e5's graph) |
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where citymind keeps its registry, where the gateway listens and where real data lives."""

    model_config = SettingsConfigDict(env_prefix="CITYMIND_", extra="ignore")

    home: Path = Field(default=Path(".citymind"), description="Holds mlflow.db and artifacts/.")
    tracking_uri: str = Field(default="", description="MLflow tracking/registry URI; empty = embedded sqlite.")
    artifact_location: str = Field(default="", description="Artifact root for new experiments.")
    host: str = Field(default="127.0.0.1", description="Gateway bind address.")
    port: int = Field(default=8000, ge=1, le=65535)
    ray_address: str = Field(default="", description="Ray cluster address; empty starts a local Ray.")
    shared_data: Path = Field(default=Path("../shared/data"))
    keys_file: str = Field(default="", description="API keys (hashed); empty = <home>/keys.json.")
    auth: str = Field(default="auto", pattern="^(auto|on|off)$", description="auto: keys needed once any exist.")
    cameras_file: str = Field(default="", description="Cameras (detector, zones, lines) YAML; empty = shipped ones.")
    video_shards: int = Field(default=1, ge=1, le=64, description="Video deployments; a camera stays on one.")
    model_run_timeout_s: float = Field(default=10.0, gt=0, description="A model run longer than this is stopped.")
    max_model_mb: int = Field(default=512, ge=1, description="A model file larger than this is not served.")
    quotas: str = Field(default="", description="Per-role request quotas over the defaults (JSON).")
    events_url: str = Field(default="", description="Event records: SQLAlchemy URL; empty = <home>/events.db.")
    retention_days: int = Field(default=365, ge=1, le=36_500, description="Event records older than this are purged.")
    reporter_key_file: str = Field(default="", description="Key for reporter-id hashes; empty = <home>/reporter.key.")
    cache: Path = Field(
        default=Path("~/.cache/citymind"), description="Models built from shipped weights (rebuilt when missing)."
    )
    state_file: str = Field(
        default="", description="The event state across restarts; empty = <home>/event_state.json, off = memory."
    )

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_state_file(self) -> str | None:
        """Where the gateway keeps its event state; None ("off"): in memory only."""
        if self.state_file.lower() == "off":
            return None
        return self.state_file or str(self.resolved_home / "event_state.json")

    @property
    def resolved_events_url(self) -> str | None:
        """Where event records are kept; None ("off"): nothing is recorded."""
        if self.events_url.lower() == "off":
            return None
        return self.events_url or f"sqlite:///{self.resolved_home / 'events.db'}"

    @property
    def resolved_reporter_key_file(self) -> Path:
        return Path(self.reporter_key_file) if self.reporter_key_file else self.resolved_home / "reporter.key"

    @property
    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{self.resolved_home / 'mlflow.db'}"

    @property
    def embedded(self) -> bool:
        """True when the registry is the local sqlite file (writes then need a process lock)."""
        return self.resolved_tracking_uri.startswith("sqlite:")

    @property
    def resolved_artifact_location(self) -> str | None:
        if self.artifact_location:
            return self.artifact_location
        if self.embedded:
            return (self.resolved_home / "artifacts").as_uri()
        return None  # a tracking server decides (e.g. mlflow-artifacts:/ proxied to its object store)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
