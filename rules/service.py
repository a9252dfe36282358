"""Rule sets in service: registered as kind ``rule`` (the YAML is the artifact), loaded by alias, hot-reloaded
when the alias moves. A new version is validated before it replaces anything; the swap is one reference
assignment, so in-flight evaluations finish on the old set; a version that fails keeps the old one in service
and says why."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from registry import AssetRegistry, AssetVersion
from registry.follow import AliasFollower
from rules.engine import Firing, RuleEngine
from rules.loader import RuleFileError, RuleSet, is_test_file, load_rules, tests_beside
from rules.testing import run_tests
from rules.timers import RuleTimers, TimerStore


def check_ruleset(ruleset: RuleSet) -> RuleSet:
    """Raise :class:`RuleFileError` with a diff per failing test; the rule set when all pass."""
    failed = [r.diff() for r in run_tests(ruleset) if not r.ok]
    if failed:
        raise RuleFileError([f"{ruleset.source}: rule test failed: {d}" for d in failed])
    return ruleset


def register_ruleset(
    registry: AssetRegistry, name: str, path: Path, *, alias: str | None = "production", description: str = ""
) -> AssetVersion:
    """Validate ``path`` (schema, expressions, its own tests) and register it with the tests beside it (the folder
    of both); nothing is written if it fails."""
    ruleset = check_ruleset(load_rules(path))
    with tempfile.TemporaryDirectory(prefix="citymind-rules-") as tmp:
        files = Path(tmp)
        for source in (path, tests_beside(path)):
            if source.is_file():
                shutil.copyfile(source, files / source.name)
        version = registry.register(
            "rule",
            name,
            files,
            description=description,
            tags={"rules": str(len(ruleset.rules)), "tests": str(len(ruleset.tests))},
        )
    return registry.set_alias(name, alias, version.version) if alias else version


def load_registered(registry: AssetRegistry, ref: str) -> RuleSet:
    """A registered rule set (``name@alias`` or ``name/3``), validated again on load."""
    target = registry.resolve(ref)
    return load_rules(registered_file(registry, target), version=f"{target.name}/{target.version}")


def registered_file(registry: AssetRegistry, target: AssetVersion) -> Path:
    """The rule file of a registered version (its tests, if registered, are beside it: :func:`tests_beside`)."""
    folder = Path(registry.load(f"{target.name}/{target.version}"))
    files = sorted(p for p in ([folder] if folder.is_file() else folder.glob("*.y*ml")) if not is_test_file(p))
    if len(files) != 1:
        raise RuleFileError([f"{target.uri}: expected one YAML rule file, found {[f.name for f in files]}"])
    return files[0]


class RuleService(AliasFollower[RuleEngine]):
    """The rule set a service evaluates, following ``name@alias`` in the registry (``watch()`` polls in the
    background; ``reload()`` on demand). Every version runs on the same ``timers`` (its own :class:`RuleTimers`
    unless given a shared store), so a reload keeps the ``for`` timers and repeat suppression of the rules it left
    unchanged."""

    def __init__(
        self,
        registry: AssetRegistry,
        name: str,
        *,
        alias: str = "production",
        refresh_interval: float = 2.0,
        timers: TimerStore | None = None,
    ) -> None:
        self.timers: TimerStore = RuleTimers() if timers is None else timers
        super().__init__(
            registry,
            name,
            alias,
            lambda reg, target: RuleEngine(load_registered(reg, f"{target.name}/{target.version}"), timers=self.timers),
            refresh_interval=refresh_interval,
        )

    def evaluate(self, kind: str, event: Mapping[str, object], at: float = 0.0) -> list[Firing]:
        return self.evaluate_many(kind, [(event, at)])[0]

    def evaluate_many(self, kind: str, events: Sequence[tuple[Mapping[str, object], float]]) -> list[list[Firing]]:
        engine = self._served  # taken once: a swap during this call does not affect it
        if engine is None:
            self.reload()
            engine = self._served
            if engine is None:
                raise RuleFileError([f"{self.name}@{self.alias}: no usable rule set ({self.last_error})"])
        return engine.evaluate_many(kind, events)

    def status(self) -> dict[str, object]:
        engine = self._served
        errors = {"rule_errors": dict(engine.errors), "rule_last_error": dict(engine.last_error)} if engine else {}
        return {**super().status(), "rules": len(engine.ruleset.rules) if engine else 0, **errors}
