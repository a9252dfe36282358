"""The event engine through the real gateway (Ray Serve on 127.0.0.1) on real citizen messages: every answer has
a category, a lead department, a priority and an explanation whose parts agree with the libraries called directly;
similar past cases come from a knowledge snapshot indexed from real official replies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.e2e.conftest import serve_knowledge

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def with_cases(gateway_registry: Any, shared_data: Path, gateway: str) -> Any:
    """pingdu-knowledge@production moved to a version whose case index holds 120 real messages and replies."""
    from knowledge_graph.cases import Case, squeeze
    from knowledge_graph.retrieval import CaseIndex
    from knowledge_graph.snapshot import KnowledgeSnapshot

    frame = pd.read_csv(shared_data / "complaints" / "tipdm2020_messages_with_replies_sample.csv", dtype=str)
    frame = frame.fillna("")
    cases = [
        Case(str(r["留言编号"]), r["留言主题"], squeeze(r["留言详情"]), r["答复意见"]) for _, r in frame.iterrows()
    ]
    snapshot = KnowledgeSnapshot.from_registry(gateway_registry, "pingdu-knowledge@production")
    snapshot.cases = CaseIndex(embedder="svd").fit(cases)
    return snapshot, serve_knowledge(gateway, gateway_registry, snapshot, "with 120 real cases")


def test_real_messages_are_triaged_consistently(
    client: httpx.Client, gateway_registry: Any, shared_data: Path, with_cases: Any
) -> None:
    from models.onnx_session import OnnxTextClassifier, make_session

    snapshot, version = with_cases
    frame = pd.read_csv(shared_data / "complaints" / "tipdm2020_messages_labeled.csv").head(24)
    reports = [
        {"text": f"{t}。{d}"[:4000], "channel": "web"}
        for t, d in zip(frame["留言主题"], frame["留言详情"], strict=True)
    ]
    response = client.post("/v1/events/triage", json={"reports": reports}, timeout=120)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    champion = gateway_registry.resolve("event-classifier@champion")
    local = OnnxTextClassifier(make_session(Path(gateway_registry.load(champion.uri))))
    for out in results:
        assert out["category"] and out["department"]["lead"] and out["priority"] in {"P1", "P2", "P3", "P4"}
        proba = local.predict_proba([out["text"]])[0]
        assert out["category"] == local.classes[int(proba.argmax())]
        assert abs(out["confidence"] - float(proba.max())) < 1e-4
        arm = {"name": "event-classifier", "version": champion.version, "arm": "champion"}
        assert out["explanation"]["model"] == arm
        assert out["department"]["lead"] == snapshot.graph.dispatch(out["category"], out["area"]).lead
        assert out["explanation"]["knowledge"]["version"] == version
        assert out["similar_cases"] and all(c["reply"] and c["score"] > 0 for c in out["similar_cases"])
        for firing in out["explanation"]["rules"]["fired"]:
            assert firing["version"].startswith("pingdu-rules/") and firing["explanation"]


def test_knowledge_search_finds_a_real_message_and_its_reply(client: httpx.Client, with_cases: Any) -> None:
    """A case's own message finds it first (the cases triage shows), with its reply; the answers are the library's."""
    snapshot, version = with_cases
    for case in snapshot.cases.cases_[:10]:
        answer = client.get("/v1/knowledge/search", params={"q": case.text[:200], "k": 3, "of": "cases"}).json()
        assert answer["knowledge"] == f"pingdu-knowledge/{version}" and answer["hits"][0]["id"] == case.id
        assert answer["hits"][0]["reply"] == case.reply[:500]
        assert answer["hits"] == [h.to_dict() for h in snapshot.similar_cases(case.text[:200], 3)]
    both = client.get("/v1/knowledge/search", params={"q": "小区噪音扰民", "k": 5}).json()
    assert [h["id"] for h in both["hits"]] == [h.case.id for h in snapshot.search("小区噪音扰民", 5)]
    refused = client.get("/v1/knowledge/search", params={"q": "噪音", "k": 51})
    assert refused.status_code == 400 and "query.k" in refused.text
