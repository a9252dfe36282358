"""``/v1/health`` reads what is loaded and tells an anonymous caller versions only (issue 20, items 6 and 12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from citymind.access import KeyStore
from events.state import EventState
from events.triage import TriageConfig
from rules.service import register_ruleset
from serving.app import create_app
from serving.model_hub import ModelHub

#: a dispatch rule whose evaluation overflowed a float on any event, `{}` included (ef3d69f: health 503)
OVERFLOWING = "groups:\n  - name: hostile\n    kind: dispatch\n    rules:\n      - id: overflow\n        when: " + (
    " * ".join(["1000000000000000"] * 21) + " / 3 > 1\n        then: {priority: P1}\n"
)


def test_health_does_not_run_rules_and_stays_ready_with_a_rule_that_raises(bootstrapped: Any, tmp_path: Path) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(OVERFLOWING, encoding="utf-8")
    register_ruleset(bootstrapped, "hostile-rules", path)
    app = create_app(ModelHub(bootstrapped), triage=TriageConfig(rules="hostile-rules@production"))
    with TestClient(app) as http:
        health = http.get("/v1/health")
        triaged = http.post("/v1/events/triage", json={"report": {"text": "南村镇路灯不亮"}})
    assert health.status_code == 200, health.text
    assert health.json()["parts"]["rules"]["name"] == "hostile-rules"
    assert triaged.status_code == 200 and triaged.json()["priority"] == "P3"  # the rule never held, nothing failed


def test_health_shows_files_and_errors_only_to_a_caller_with_a_key(bootstrapped: Any, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, secret = store.create("ops", "admin")
    state = EventState(tmp_path / "event_state.json")
    with TestClient(create_app(ModelHub(bootstrapped), keys=store, state=state)) as http:
        anonymous = http.get("/v1/health")
        keyed = http.get("/v1/health", headers={"x-api-key": secret})
        wrong = http.get("/v1/health", headers={"x-api-key": "cm_nope_nope"})
    assert anonymous.status_code == keyed.status_code == wrong.status_code == 200
    assert keyed.json()["parts"]["event_state"]["file"] == str(tmp_path / "event_state.json")
    for body in (anonymous.json(), wrong.json()):
        text = json.dumps(body, ensure_ascii=False)
        assert str(tmp_path) not in text and "file:" not in text and "/artifacts" not in text, text
        assert body["parts"]["rules"]["version"] == keyed.json()["parts"]["rules"]["version"]
