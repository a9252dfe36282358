"""Rule sets in the registry: hot reload under concurrent evaluation, a bad version never replaces a good one,
rollback is one call."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from registry import MlflowRegistry
from rules.loader import RuleFileError
from rules.service import RuleService, register_ruleset

DEFAULT = Path(__file__).resolve().parents[2] / "rules" / "defaults" / "pingdu.yaml"
GAS = {"category": "市容环境", "confidence": 0.9, "text": "楼道里有煤气味", "area": "南村镇"}


def test_hot_reload_under_load_and_bad_versions_keep_the_old_set(
    reg: MlflowRegistry, tmp_path: Path, unique: str
) -> None:
    name = f"rules-{unique}"
    register_ruleset(reg, name, DEFAULT)
    service = RuleService(reg, name)
    assert [f.rule for f in service.evaluate("dispatch", GAS)] == ["gas-leak-p1"]

    v2_file = tmp_path / "pingdu.yaml"
    v2_file.write_text(
        DEFAULT.read_text(encoding="utf-8").replace(
            'priority: P1, transfer: "119", sla: 30m', 'priority: P1, transfer: "119", sla: 20m'
        ),
        encoding="utf-8",
    )
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def evaluate() -> None:
        while not stop.is_set():
            try:
                firings = service.evaluate("dispatch", GAS)
                assert [f.rule for f in firings] == ["gas-leak-p1"]
                seen.add(firings[0].then["sla"])
            except BaseException as exc:
                errors.append(exc)
            time.sleep(0.001)  # busy, yet leaves the registration the GIL now and then (it took ~70 s without)

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        register_ruleset(reg, name, v2_file)
        assert service.reload() and service.version == 2
        broken = tmp_path / "broken" / "pingdu.yaml"
        broken.parent.mkdir()
        broken.write_text(
            "groups:\n  - name: g\n    kind: dispatch\n    rules:\n      - id: x\n        when: pm25 ** 9\n",
            encoding="utf-8",
        )
        with pytest.raises(RuleFileError, match=r"pingdu\.yaml:6:15: operator Pow is not allowed"):
            register_ruleset(reg, name, broken)  # validation refuses it before the registry sees it
        bad = reg.register("rule", name, broken)  # pushed past the check, e.g. by a plain MLflow client
        reg.set_alias(name, "production", bad.version)
        assert not service.reload()
        assert service.version == 2 and "operator Pow is not allowed" in (service.last_error or "")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == [] and seen == {"30m", "20m"}

    assert reg.rollback(name, "production").version == 2  # off the bad version
    assert not service.reload() and service.last_error is None
    assert reg.rollback(name, "production").version == 1
    assert service.reload() and service.version == 1
    firing = service.evaluate("dispatch", GAS)[0]
    assert firing.then["sla"] == "30m" and firing.version == f"{name}/1"


def test_a_ruleset_whose_own_tests_fail_is_not_registered(reg: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    wrong = tmp_path / "pingdu.yaml"
    wrong.write_text(
        DEFAULT.read_text(encoding="utf-8").replace("expect: [gas-leak-p1]", "expect: [fire-risk-p1]"), encoding="utf-8"
    )
    with pytest.raises(RuleFileError, match="rule test failed"):
        register_ruleset(reg, f"rules-{unique}", wrong)
    with pytest.raises(KeyError):
        reg.get(f"rules-{unique}")


def test_the_service_follows_the_alias_by_itself(reg: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    import time

    name = f"rules-{unique}"
    register_ruleset(reg, name, DEFAULT)
    service = RuleService(reg, name, refresh_interval=0.2)
    assert service.evaluate("dispatch", GAS)[0].version == f"{name}/1"
    quieter = tmp_path / "pingdu.yaml"
    quieter.write_text(
        DEFAULT.read_text(encoding="utf-8").replace("sla: 30m, escalate_after", "sla: 10m, escalate_after")
    )
    (tmp_path / "pingdu.test.yaml").write_text(DEFAULT.with_name("pingdu.test.yaml").read_text(encoding="utf-8"))
    service.watch()
    try:
        register_ruleset(reg, name, quieter)
        deadline = time.monotonic() + 30
        while service.version != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        firing = service.evaluate("dispatch", GAS)[0]
        assert (service.version, firing.version, firing.then["sla"]) == (2, f"{name}/2", "10m")
        status = {"name": name, "alias": "production", "version": 2, "rules": 20, "last_error": None}
        assert service.status() == status | {"rule_errors": {}, "rule_last_error": {}}
    finally:
        service.stop()
