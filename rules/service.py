"""Rule sets in service: registered as kind ``rule`` (the YAML is the artifact), loaded by alias, hot-reloaded
when the alias moves. A new version is validated before it replaces anything; the swap is one reference
assignment, so in-flight evaluations finish on the old set; a version that fails keeps the old one in service
and says why."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from rules.engine import Firing, RuleEngine
from rules.loader import RuleFileError, RuleSet, is_test_file, load_rules

log = logging.getLogger("citymind.rules")


def check_ruleset(ruleset: RuleSet) -> RuleSet:
    """Raise :class:`RuleFileError` with a diff per failing test; the rule set when all pass."""
    from rules.testing import run_tests

    failed = [r.diff() for r in run_tests(ruleset) if not r.ok]
    if failed:
        raise RuleFileError([f"{ruleset.source}: rule test failed: {d}" for d in failed])
    return ruleset


def register_ruleset(
    registry: Any, name: str, path: Path, *, alias: str | None = "production", description: str = ""
) -> Any:
    """Validate ``path`` (schema, expressions, its own tests) and register it; nothing is written if it fails."""
    ruleset = check_ruleset(load_rules(path))
    version = registry.register(
        "rule",
        name,
        path,
        description=description,
        tags={"rules": str(len(ruleset.rules)), "tests": str(len(ruleset.tests))},
    )
    return registry.set_alias(name, alias, version.version) if alias else version


def load_registered(registry: Any, ref: str) -> RuleSet:
    """A registered rule set (``name@alias`` or ``name/3``), validated again on load."""
    target = registry.resolve(ref)
    folder = Path(registry.load(f"{target.name}/{target.version}"))
    files = sorted(p for p in ([folder] if folder.is_file() else folder.glob("*.y*ml")) if not is_test_file(p))
    if len(files) != 1:
        raise RuleFileError([f"{target.uri}: expected one YAML rule file, found {[f.name for f in files]}"])
    return load_rules(files[0], version=f"{target.name}/{target.version}")


class RuleService:
    """The rule set a service evaluates, following ``name@alias`` in the registry."""

    def __init__(self, registry: Any, name: str, *, alias: str = "production", refresh_interval: float = 2.0) -> None:
        self.registry = registry
        self.name = name
        self.alias = alias
        self.refresh_interval = refresh_interval
        self.version: int | None = None
        self.engine: RuleEngine | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()

    def evaluate(self, kind: str, event: dict[str, Any], at: float = 0.0) -> list[Firing]:
        engine = self.engine or self._first_load()
        return engine.evaluate(kind, event, at)

    def _first_load(self) -> RuleEngine:
        if not self.reload() and self.engine is None:
            raise RuleFileError([f"{self.name}@{self.alias}: no usable rule set ({self.last_error})"])
        assert self.engine is not None
        return self.engine

    def reload(self) -> bool:
        """Follow the alias; True when a new version is now in service."""
        try:
            target = self.registry.resolve(f"{self.name}@{self.alias}")
            if target.version == self.version:
                self.last_error = None  # e.g. the alias was rolled back to what is in service
                return False
            ruleset = self._load(target)
        except Exception as exc:  # a broken version must never take the old rules out of service
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("keeping %s v%s: %s", self.name, self.version, self.last_error)
            return False
        # one reference assignment: evaluations already running keep the engine they started with
        self.engine = RuleEngine(ruleset, state_from=self.engine)
        self.version, self.last_error = target.version, None
        log.info("rules %s@%s: now serving version %s", self.name, self.alias, target.version)
        return True

    def _load(self, target: Any) -> RuleSet:
        return load_registered(self.registry, f"{target.name}/{target.version}")

    def status(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "rules": len(engine.ruleset.rules) if engine else 0,
            "last_error": self.last_error,
        }

    def watch(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(self.refresh_interval):
                self.reload()

        thread = threading.Thread(target=loop, name=f"rules-{self.name}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
