"""One gateway replica: its model hub and everything made over it once and shared by its routes — the canary
split, the event engine (triage, indicator warnings and video events share its rule timers, recent reports and
followers), the component shelf and the metrics only this replica knows. ``create_app`` makes one and hands it
to each router; nothing is kept in module-level dictionaries."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from prometheus_client import CollectorRegistry

from events.baseline import baseline_forecast
from events.canary import Canary
from events.indicators import IndicatorEngine, onnx_forecast
from events.overdue import OverdueWatch
from events.ports import EventStore
from events.records import EventRecords
from events.selfwatch import SelfWatch
from events.triage import EventEngine, TriageConfig
from models.components.shelf import ComponentShelf
from serving.metrics import replica_metrics
from serving.model_hub import ModelHub

T = TypeVar("T")


class Replica:
    """``state``: the event state the replicas share (None: the engine keeps its own, in memory); ``triage``:
    which model, knowledge and rules the event engine follows; ``records``: where events are recorded (None:
    nowhere)."""

    def __init__(
        self,
        hub: ModelHub,
        *,
        state: EventStore | None = None,
        triage: TriageConfig | None = None,
        records: EventRecords | None = None,
    ) -> None:
        self.hub, self.state, self.triage, self.records = hub, state, triage or TriageConfig(), records
        self.canary = Canary(hub, refresh_interval=self.triage.refresh_interval)
        self.components = ComponentShelf(hub)
        self.metrics: CollectorRegistry = replica_metrics(hub)
        # model loads and runs of the async routes: off the event loop, in threads of their own (a slow model
        # never takes the threads the sync routes and health run in)
        self._pool: ThreadPoolExecutor | None = None  # made at first use, again after a close
        self._engine: EventEngine | None = None
        self._indicators: IndicatorEngine | None = None
        self._baseline: IndicatorEngine | None = None
        self._overdue: OverdueWatch | None = None
        self._selfwatch: SelfWatch | None = None
        self._lock = threading.Lock()

    def triage_refs(self) -> list[str]:
        """The registry refs the event engine follows: its model (by the hub's alias), knowledge and rules."""
        t = self.triage
        return [f"{t.model}@{self.hub.alias}", t.knowledge, t.rules]

    @property
    def engine(self) -> EventEngine:
        """The event engine, made on first use (it starts following the knowledge and rule aliases)."""
        engine = self._engine
        if engine is None:
            with self._lock:
                engine = self._engine
                if engine is None:
                    engine = self._engine = EventEngine(
                        self.hub, self.triage, state=self.state, canary=self.canary, records=self.records
                    )
        return engine

    @property
    def indicators(self) -> IndicatorEngine:
        """Indicator warnings on the event engine's rules and state, forecast by the hub's forecasters."""
        if self._indicators is None:
            self._indicators = IndicatorEngine(self.engine, onnx_forecast(self.hub))
        return self._indicators

    @property
    def baseline_indicators(self) -> IndicatorEngine:
        """The self-watch's indicators (report counts, drift) on the same rules and state, forecast by the
        seasonal baseline (``events.baseline``) instead of a registered forecaster."""
        if self._baseline is None:
            self._baseline = IndicatorEngine(self.engine, baseline_forecast)
        return self._baseline

    def self_watch(self) -> SelfWatch | None:
        """The demand and drift watch over the recorded events (None: nothing is recorded)."""
        if self.records is not None and self._selfwatch is None:
            self._selfwatch = SelfWatch(self.records, lambda: self.baseline_indicators, self.hub.registry)
        return self._selfwatch

    def watch_self(self, interval_s: float) -> None:
        """Run the self-watch every ``interval_s`` (demand sensing and drift through the alert rules)."""
        watch = self.self_watch()
        if watch is not None:
            watch.interval_s = interval_s
            watch.start()

    def watch_overdue(self, interval_s: float) -> None:
        """Escalate overdue recorded events every ``interval_s`` (and purge expired ones hourly)."""
        if self.records is not None and self._overdue is None:
            self._overdue = OverdueWatch(self.records, lambda: self.engine.rules, interval_s).start()

    @property
    def overdue_error(self) -> str | None:
        return self._overdue.last_error if self._overdue is not None else None

    @property
    def selfwatch_error(self) -> str | None:
        return self._selfwatch.last_error if self._selfwatch is not None else None

    async def off_loop(self, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in the replica's model threads, awaited without blocking the event loop."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="citymind-model")
            pool = self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(work, *args))

    def close(self) -> None:
        """Stop the engine's followers, if it was made, and write a persisted event state a last time."""
        with self._lock:
            engine, self._engine, self._indicators, self._baseline = self._engine, None, None, None
            pool, self._pool = self._pool, None
            watches, self._overdue, self._selfwatch = (self._overdue, self._selfwatch), None, None
        for watch in watches:
            if watch is not None:
                watch.stop()
        if engine is not None:
            engine.close()
        if self.state is not None:
            self.state.close()
        if self.records is not None:
            self.records.close()
        if pool is not None:
            pool.shutdown(wait=False)
