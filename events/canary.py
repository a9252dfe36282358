"""Champion/challenger for a model: a share of traffic to the ``challenger`` alias (sticky by request key), or
shadow mode (the challenger answers too, its answer is logged and counted, the champion's is returned).

The split lives in the registry, as tags on the registered model, so changing it needs no restart and every
replica follows within ``refresh_interval``::

    citymind.canary.weight = 0.1     # share of request keys sent to the challenger
    citymind.canary.shadow = true    # run the challenger beside the champion on every request

(``citymind canary event-classifier --weight 0.1`` sets them.)"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from events.metrics import PREDICTIONS, SHADOW
from events.ports import ModelSource
from models.served import Classification, ServedModel
from registry import AssetNotFound
from registry.follow import Follower

WEIGHT_TAG = "citymind.canary.weight"
SHADOW_TAG = "citymind.canary.shadow"
log = logging.getLogger("citymind.canary")


@dataclass(frozen=True)
class Split:
    weight: float = 0.0
    shadow: bool = False
    challenger: int | None = None  # the version the challenger alias points at


def bucket(model: str, key: str) -> float:
    """Where ``key`` falls in [0, 1): the same key always lands in the same place (sticky)."""
    digest = hashlib.sha256(f"{model}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


#: one text classifier run: a served model version and a batch of texts → one answer a text
Run = Callable[[ServedModel, list[str]], list[Classification]]


class RoutedAnswer(Classification):
    """A classification with the model version that answered and its arm (``champion``/``challenger``)."""

    version: int
    arm: str


class Canary:
    """``route(model, keys)`` → for each key the served model to use and its arm; ``shadow(...)`` runs the
    challenger off the request path (one worker, a bounded backlog: shadow traffic never slows the answer).
    Each model's split is followed like an alias (``registry.follow.Follower``): re-read at most every
    ``refresh_interval`` seconds."""

    def __init__(
        self, hub: ModelSource, *, refresh_interval: float = 2.0, challenger_alias: str = "challenger"
    ) -> None:
        self.hub, self.refresh_interval, self.challenger_alias = hub, refresh_interval, challenger_alias
        self._splits: dict[str, Follower[Split, Split]] = {}
        self._lock = threading.Lock()
        self._shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citymind-shadow")
        self._pending: set[Future[None]] = set()
        self.max_backlog = 64

    def split(self, model: str) -> Split:
        follower = self._splits.get(model)
        if follower is None:
            with self._lock:
                follower = self._splits.setdefault(
                    model,
                    Follower(
                        f"canary of {model}", lambda: self._read(model), _same, refresh_interval=self.refresh_interval
                    ),
                )
        try:
            return follower.current()
        except AssetNotFound:  # the registry could not be read and no split was known: no canary
            return Split()

    def _read(self, model: str) -> Split:
        try:
            tags = self.hub.registry.get(model).tags
            weight = min(max(float(tags.get(WEIGHT_TAG, 0) or 0), 0.0), 1.0)
            shadow = str(tags.get(SHADOW_TAG, "false")).lower() == "true"
            if not weight and not shadow:
                return Split()
            version = int(self.hub.registry.resolve(f"{model}@{self.challenger_alias}").version)
            return Split(weight, shadow, version)
        except (AssetNotFound, ValueError) as exc:
            log.warning("no canary for %s: %s", model, exc)
            return Split()

    def route(self, model: str, keys: list[str]) -> tuple[ServedModel, list[tuple[ServedModel, str]]]:
        """The champion, and for each key the model to answer with and its arm (``champion``/``challenger``)."""
        champion = self.hub.get(model)
        split = self.split(model)
        if split.challenger is None or split.challenger == champion.version or not split.weight:
            return champion, [(champion, "champion")] * len(keys)
        challenger = self.hub.get(model, split.challenger)
        return champion, [
            (challenger, "challenger") if bucket(model, k) < split.weight else (champion, "champion") for k in keys
        ]

    def answer(self, model: str, keys: list[str], texts: list[str], run: Run) -> list[RoutedAnswer]:
        """``run(served, texts)`` per arm (one batched call each), each answer tagged with its ``version`` and
        ``arm``; the champion's answers are shadowed by the challenger when shadow mode is on. ``keys`` and
        ``texts`` go together, one key a text."""
        champion, routes = self.route(model, keys)
        answered: dict[int, RoutedAnswer] = {}
        for served, arm in {a: (m, a) for m, a in routes}.values():
            index = [i for i, (_, a) in enumerate(routes) if a == arm]
            PREDICTIONS.labels(served.name, str(served.version), arm).inc(len(index))
            for i, result in zip(index, run(served, [texts[i] for i in index]), strict=True):
                answered[i] = {**result, "version": served.version, "arm": arm}
        out = [answered[i] for i in range(len(texts))]
        on_champion = [i for i, (_, a) in enumerate(routes) if a == "champion"]
        self.shadow(champion.name, run, [texts[i] for i in on_champion], [out[i] for i in on_champion])
        return out

    def shadow(self, model: str, run: Run, texts: list[str], answers: list[RoutedAnswer]) -> None:
        """When shadow mode is on, run ``run(challenger, texts)`` later and log how it differs from ``answers``."""
        split = self.split(model)
        if not split.shadow or split.challenger is None:
            return
        with self._lock:
            self._pending = {f for f in self._pending if not f.done()}
            if len(self._pending) >= self.max_backlog:
                SHADOW.labels(model, str(split.challenger), "dropped").inc()
                return
            self._pending.add(self._shadow_pool.submit(self._compare, model, split.challenger, run, texts, answers))

    def _compare(self, model: str, version: int, run: Run, texts: list[str], answers: list[RoutedAnswer]) -> None:
        try:
            challenger = self.hub.get(model, version)
            theirs = run(challenger, texts)
            PREDICTIONS.labels(model, str(version), "shadow").inc(len(texts))
            for mine, other in zip(answers, theirs, strict=True):
                agree = mine.get("category") == other.get("category")
                SHADOW.labels(model, str(version), "agree" if agree else "disagree").inc()
                log.info(
                    "shadow %s v%s: champion %s %.3f, challenger %s %.3f",
                    model,
                    version,
                    mine.get("category"),
                    mine.get("confidence", 0),
                    other.get("category"),
                    other.get("confidence", 0),
                )
        except Exception:
            log.exception("shadow run of %s v%s failed", model, version)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait for queued shadow runs (tests; a clean shutdown)."""
        with self._lock:
            pending = set(self._pending)
        wait(pending, timeout=timeout)


def _same(split: Split) -> Split:
    return split
