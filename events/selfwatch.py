"""The platform watching itself with its own rules: every ``interval_s`` (an hour by default) each ingress replica
turns the recorded reports into demand series (``events.demand``) and the classifier's recent answers into drift
figures (``events.drift``), both through the ``alert`` rules; the warnings are recorded like any other. Replicas
share the hours evaluated (the event state), so a warning is raised once however many replicas watch."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from events.demand import DemandAnswer, DemandQuery, evaluate_demand
from events.drift import DriftFigures, DriftQuery, drift_figures, evaluate_drift
from events.indicators import IndicatorEngine
from events.records import EventRecords
from registry import AssetRegistry

log = logging.getLogger("citymind.events")


class SelfWatch:
    """``run()`` evaluates demand and drift now; ``start()`` runs every ``interval_s`` in a thread of its own until
    ``stop()``. ``indicators`` gives the indicator engine on the seasonal baseline when a run needs it (so a
    gateway starts before its rule set is loaded)."""

    def __init__(
        self,
        records: EventRecords,
        indicators: Callable[[], IndicatorEngine],
        registry: AssetRegistry,
        interval_s: float = 3600.0,
        demand: DemandQuery | None = None,
        drift: DriftQuery | None = None,
    ) -> None:
        self.records, self.indicators, self.registry, self.interval_s = records, indicators, registry, interval_s
        self.demand, self.drift = demand or DemandQuery(), drift or DriftQuery()
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> tuple[DemandAnswer, DriftFigures]:
        """Demand and drift now: what each found and the warnings raised."""
        engine = self.indicators()
        demand = evaluate_demand(engine, self.records, self.demand)
        drift = drift_figures(self.records, self.registry, self.drift)
        drift["warnings"] = evaluate_drift(engine, drift)
        return demand, drift

    def start(self) -> SelfWatch:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="self-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                demand, drift = self.run()
                raised = len(demand["warnings"]) + len(drift.get("warnings", []))
                if raised:
                    log.info("the self-watch raised %d warnings", raised)
                self.last_error = None
            except Exception as exc:  # reported; the next run tries again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("the self-watch failed (%s); trying again in %.0f s", exc, self.interval_s)
