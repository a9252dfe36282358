"""A rule-set version whose stored file was corrupted on disk after registration is refused when the alias moves
to it: the previous version keeps evaluating and the error says why. (Models: tests/e2e/test_gateway_faults.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import InvalidAsset, MlflowRegistry
from rules.service import RuleService, register_ruleset
from tests.corruption import MODES, corrupt, stored_file

DEFAULT = Path(__file__).resolve().parents[2] / "rules" / "defaults" / "pingdu.yaml"
GAS = {"category": "市容环境", "confidence": 0.9, "text": "楼道里有煤气味", "area": "南村镇"}
#: the gas-leak rule's ``sla: 30m``; flipped, it reads ``sla: 70m`` and still parses
SLA = b"sla: 3"


@pytest.mark.parametrize("mode", MODES)
def test_a_corrupt_ruleset_version_is_refused_and_the_previous_keeps_evaluating(
    reg: MlflowRegistry, unique: str, mode: str
) -> None:
    name = f"rules-{mode}-{unique}"
    register_ruleset(reg, name, DEFAULT)
    service = RuleService(reg, name)
    assert service.evaluate("dispatch", GAS)[0].then["sla"] == "30m"

    bad = register_ruleset(reg, name, DEFAULT, alias=None)
    corrupt(stored_file(bad.source, DEFAULT.name), mode, needle=SLA)
    reg.set_alias(name, "production", bad.version)

    assert not service.reload()
    assert service.version == 1 and f"version {bad.version}" in (service.last_error or ""), service.last_error
    firing = service.evaluate("dispatch", GAS)[0]
    assert (firing.rule, firing.then["sla"], firing.version) == ("gas-leak-p1", "30m", f"{name}/1")
    with pytest.raises(InvalidAsset):
        reg.load(f"{name}@production")
