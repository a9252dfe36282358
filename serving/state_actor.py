"""The ``event-state`` Ray actor the gateway's ingress replicas share (``events.state.EventState`` in a detached
actor), started by the first replica that asks and saved and stopped by the gateway's shutdown."""

from __future__ import annotations

import hashlib
import logging
from typing import cast

import ray
from ray.actor import ActorHandle

from events.state import EventState

log = logging.getLogger("citymind.serving")

#: the Ray namespace of the gateway's own actors
NAMESPACE = "citymind"
ACTOR_PREFIX = "event-state-"


def event_state_actor(
    state_file: str | None, tracking_uri: str, env: dict[str, str] | None = None, *, events_url: str | None = None
) -> ActorHandle[EventState]:
    """The ``event-state`` actor of this registry and state file, started by the first ingress replica that asks
    (the others get the same one): detached, so it outlives any one replica, and restarted by Ray if its process
    dies (it reads its file again, and its recent reports from ``events_url``). ``close_event_state_actors`` saves
    and stops it."""

    key = hashlib.blake2b(f"{tracking_uri}\n{state_file or ''}".encode(), digest_size=6).hexdigest()
    options = {"runtime_env": {"env_vars": env}} if env else {}
    actor = (
        ray.remote(EventState)
        .options(
            name=ACTOR_PREFIX + key,
            namespace=NAMESPACE,
            get_if_exists=True,
            lifetime="detached",
            max_restarts=-1,
            num_cpus=0,
            **options,
        )
        .remote(state_file, events_url=events_url)
    )
    return cast("ActorHandle[EventState]", actor)  # ray.remote(cls) is typed as maybe the class itself


def close_event_state_actors(timeout_s: float = 30.0) -> None:
    """Save and stop every ``event-state`` actor of the Ray cluster this process is connected to (the gateway's
    shutdown)."""

    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry.get("namespace") != NAMESPACE or not entry.get("name", "").startswith(ACTOR_PREFIX):
            continue
        actor = ray.get_actor(entry["name"], namespace=NAMESPACE)
        try:
            ray.get(actor.close.remote(), timeout=timeout_s)
        except Exception as exc:  # stopping anyway: the periodic save is at most 30 s old
            log.warning("the event state %s could not be saved at shutdown (%s)", entry["name"], exc)
        ray.kill(actor)
