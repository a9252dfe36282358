"""Ray Serve deployments of the gateway: the ingress replica serves latency-critical ONNX models in process
(the fast path, no Ray hop) and hands everything else to per-family runner deployments that batch."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypedDict

from fastapi import FastAPI
from ray import serve

from citymind.access import KeyStore
from citymind.settings import Settings, get_settings
from events.ports import EventStore
from events.records import EventRecords
from events.records.database import reporter_key
from events.state import EventState, SharedEventState
from events.video import VideoConfig
from models.served import Classification
from registry import MlflowRegistry
from registry.loading import SERVING_FORMATS
from serving.app import create_app
from serving.model_hub import ModelHub
from serving.routes_classify import ModelRunnerHandle
from serving.state_actor import event_state_actor
from serving.video_deployment import VideoShards, video_deployments


@dataclass(frozen=True)
class GatewayConfig:
    """What a gateway replica needs to reach the registry and which models to load at start."""

    tracking_uri: str
    artifact_location: str | None = None
    cache_dir: str | None = None
    preload: tuple[str, ...] = ("event-classifier",)
    alias: str = "champion"
    refresh_interval: float = 2.0
    ingress_replicas: int = 1
    runner_replicas: int = 1
    #: per deployment and node; None: spread, at most ceil(replicas / live nodes) on a node; 0: no limit
    max_replicas_per_node: int | None = None
    max_batch_size: int = 32
    batch_wait_timeout_s: float = 0.005
    env: dict[str, str] = field(
        default_factory=lambda: {
            "OMP_NUM_THREADS": "1",
            "MLFLOW_LOGGING_LEVEL": "WARNING",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }
    )
    video: VideoConfig | None = field(default_factory=VideoConfig)  # None: no video deployment
    keys_file: str | None = None  # API keys (citymind keys create); None: no key store, auth by `auth` alone
    state_file: str | None = None  # the event state (events/state.py) across restarts; None: in memory only
    auth: str = "auto"
    host: str = "127.0.0.1"
    model_run_timeout_s: float = 10.0  # a model run longer than this is stopped (503)
    max_model_mb: int = 512  # a larger model file is refused (409; the previous version keeps serving)
    quotas: str = ""  # per-role rate and concurrency quotas over the defaults (JSON, citymind.access.QUOTAS)
    events_url: str | None = None  # where events are recorded (SQLAlchemy URL); None: nothing is recorded
    retention_days: int = 365  # event records older than this are purged
    reporter_key_file: str | None = None  # the key reporter ids are hashed with; None: a new one per replica start
    overdue_interval_s: float = 30.0  # how often each ingress replica escalates overdue recorded events
    selfwatch_interval_s: float = 3600.0  # how often demand and drift go through the alert rules (0: never)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> GatewayConfig:
        s = settings or get_settings()
        return cls(
            tracking_uri=s.resolved_tracking_uri,
            artifact_location=s.resolved_artifact_location,
            cache_dir=str(s.resolved_home / "cache"),
            **{
                "keys_file": s.keys_file or str(s.resolved_home / "keys.json"),
                "state_file": s.resolved_state_file,
                "auth": s.auth,
                "host": s.host,
                "model_run_timeout_s": s.model_run_timeout_s,
                "max_model_mb": s.max_model_mb,
                "quotas": s.quotas,
                "events_url": s.resolved_events_url,
                "retention_days": s.retention_days,
                "reporter_key_file": str(s.resolved_reporter_key_file),
                "video": VideoConfig(cameras_file=s.cameras_file or None, shards=s.video_shards),
                **overrides,
            },
        )

    def hub(self) -> ModelHub:
        for key, value in self.env.items():
            os.environ.setdefault(key, value)
        registry = MlflowRegistry(
            self.tracking_uri,
            artifact_location=self.artifact_location,
            cache_dir=Path(self.cache_dir) if self.cache_dir else None,
            formats=SERVING_FORMATS,  # the gateway never unpickles nor runs an artifact's code
        )
        return ModelHub(
            registry,
            alias=self.alias,
            refresh_interval=self.refresh_interval,
            run_timeout_s=self.model_run_timeout_s,
            max_model_bytes=self.max_model_mb * 2**20,
        )


class GatewayIngress:
    """Ingress replica: owns a ``ModelHub`` (ORT sessions) and builds the FastAPI app after construction."""

    def __init__(
        self, config: GatewayConfig, runner: ModelRunnerHandle | None = None, video: VideoShards | None = None
    ) -> None:
        self.config = config
        self.hub = config.hub()
        self.runner = runner
        self.video = video
        for name in config.preload:
            self.hub.get(name)  # fail fast: a replica that cannot load its champion never becomes ready
        self.hub.watch()

    def __serve_build_asgi_app__(self) -> FastAPI:
        keys = KeyStore(Path(self.config.keys_file)) if self.config.keys_file else None
        return create_app(
            self.hub, runner=self.runner, keys=keys, auth=self.config.auth, host=self.config.host,
            video=self.video, video_config=self.config.video, state=self._event_state(),
            quota_overrides=self.config.quotas, records=self._records(),
            overdue_interval_s=self.config.overdue_interval_s,
            selfwatch_interval_s=self.config.selfwatch_interval_s,
        )  # fmt: skip

    def _records(self) -> EventRecords | None:
        """The event records every ingress replica writes to (the tables migrated, once, by whichever is first)."""
        c = self.config
        if not c.events_url:
            return None
        key = reporter_key(Path(c.reporter_key_file)) if c.reporter_key_file else None
        return EventRecords(c.events_url, reporter_key=key, retention_days=c.retention_days)

    def _event_state(self) -> EventStore | None:
        """With two or more ingress replicas, the ``event-state`` actor's, shared with the others; else this
        replica's own, persisted to ``state_file`` if one is set. Where events are recorded, the recent reports
        come back from the event store at start."""
        c = self.config
        if c.ingress_replicas >= 2:
            return SharedEventState(event_state_actor(c.state_file, c.tracking_uri, c.env, events_url=c.events_url))
        if c.state_file or c.events_url:
            return EventState(c.state_file, events_url=c.events_url)
        return None

    def check_health(self) -> None:
        if not self.hub.served():
            raise RuntimeError("no model loaded")


class RunnerAnswer(Classification):
    """``ModelRunner.classify``'s answer: the classification and the model version that made it."""

    version: int


class ModelRunner:
    """Runner replica for models that are not latency-critical: dynamic batching with ``@serve.batch``."""

    def __init__(self, config: GatewayConfig) -> None:
        from ray import serve

        self.hub = config.hub()
        self.hub.watch()
        # Wrap the bound method, so Serve needs no guess whether the first argument is ``self``.
        self._batched = serve.batch(
            max_batch_size=config.max_batch_size, batch_wait_timeout_s=config.batch_wait_timeout_s
        )(self._classify_batch)

    async def classify(self, name: str, text: str, top_k: int) -> RunnerAnswer:
        return await self._batched((name, text, top_k))

    async def _classify_batch(self, items: list[tuple[str, str, int]]) -> list[RunnerAnswer]:
        """One answer an item, in order: one ``classify`` call per model, at the largest ``top_k`` asked."""
        answers: dict[int, RunnerAnswer] = {}
        for name in {item[0] for item in items}:
            index = [i for i, item in enumerate(items) if item[0] == name]
            model = self.hub.get(name)
            results = model.classify([items[i][1] for i in index], max(items[i][2] for i in index))
            for i, result in zip(index, results, strict=True):
                answers[i] = {**result, "top_k": result["top_k"][: items[i][2]], "version": model.version}
        return [answers[i] for i in range(len(items))]


def build_gateway(config: GatewayConfig) -> serve.Application:
    """The Ray Serve application: ``GatewayIngress`` bound to a ``ModelRunner`` handle."""
    runner = serve.deployment(
        ModelRunner,
        name="model-runner",
        num_replicas=config.runner_replicas,
        max_ongoing_requests=config.max_batch_size * 4,
        ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": config.env}},
        **spread(config.runner_replicas, config.max_replicas_per_node),
    )
    ingress = serve.deployment(
        serve.ingress()(GatewayIngress),
        name="gateway",
        num_replicas=config.ingress_replicas,
        max_ongoing_requests=256,
        logging_config={"enable_access_log": False},  # a log line per request costs more than the model
        ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": config.env}},
        **spread(config.ingress_replicas, config.max_replicas_per_node),
    )
    video = video_deployments(config) if config.video is not None else None
    return ingress.bind(config, runner.bind(config), video)  # type: ignore[attr-defined]


def app(args: dict[str, object] | None = None) -> serve.Application:
    """Serve application builder for config-file deployments: a KubeRay RayService's ``import_path:
    serving.deployments:app`` or ``serve run serving.deployments:app ingress_replicas=2``. The registry comes
    from the ``CITYMIND_*`` environment of the Ray pods; ``args`` set :class:`GatewayConfig` fields."""
    return build_gateway(config_from_args(args or {}))


def config_from_args(args: Mapping[str, object]) -> GatewayConfig:
    """``GatewayConfig.from_settings`` with ``args`` on top; numbers given as strings (``serve run`` passes
    ``key=value`` as text) are converted, ``preload`` may be comma-separated; ``video_<name>`` sets a
    :class:`VideoConfig` field (``video_shards=2``, ``video_cameras_file=/etc/citymind/cameras.yaml``)."""
    numbers: dict[str, type[int] | type[float]] = dict.fromkeys(
        ("refresh_interval", "batch_wait_timeout_s", "overdue_interval_s", "selfwatch_interval_s"), float
    )
    numbers |= dict.fromkeys(
        ("ingress_replicas", "runner_replicas", "max_replicas_per_node", "max_batch_size", "retention_days"), int
    )
    overrides: dict[str, Any] = {  # GatewayConfig's fields, as given (it takes them as they are)
        k: numbers[k](v) if k in numbers and isinstance(v, str) else v
        for k, v in args.items()
        if not k.startswith("video_")
    }
    preload = overrides.get("preload")
    if isinstance(preload, str):
        overrides["preload"] = tuple(p.strip() for p in preload.split(",") if p.strip())
    config = GatewayConfig.from_settings(**overrides)
    video = {k.removeprefix("video_"): v for k, v in args.items() if k.startswith("video_")}
    if video and config.video is not None:
        config = replace(config, video=_video_config(config.video, video))
    return config


def _video_config(base: VideoConfig, args: dict[str, object]) -> VideoConfig:
    current = {f.name: getattr(base, f.name) for f in fields(base)}
    unknown = sorted(set(args) - set(current))
    if unknown:
        known = ", ".join(f"video_{name}" for name in current)
        raise TypeError(f"unknown video setting(s) {', '.join(f'video_{u}' for u in unknown)}; known: {known}")
    changes: dict[str, Any] = {  # VideoConfig's fields, numbers converted from text
        k: type(current[k])(v) if isinstance(current[k], int | float) else v for k, v in args.items()
    }
    return replace(base, **changes)


class Spread(TypedDict, total=False):
    """Placement options of a Serve deployment (``serve.deployment(**spread(...))``)."""

    max_replicas_per_node: int


def spread(replicas: int, per_node: int | None) -> Spread:
    """``max_replicas_per_node`` for a deployment. Serve's own SPREAD strategy put every 0-CPU replica on one
    node of a two-node cluster (measured), so one lost node took the whole gateway: cap what a node holds."""
    if per_node is None:
        import ray

        nodes = sum(1 for n in ray.nodes() if n["Alive"]) if ray.is_initialized() else 1
        per_node = -(-replicas // nodes) if nodes > 1 else 0
    return {"max_replicas_per_node": per_node} if per_node else {}
