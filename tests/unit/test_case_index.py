"""Similar-case retrieval: the lexical + dense hybrid finds the case that answers a report, and a saved index
(JSON, .npy, faiss; no pickle) loads back with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_graph.retrieval import Case, CaseIndex, clean_reply

CASES = [
    Case("1", "南村镇垃圾堆放", reply="网友您好！留言已收悉。南村镇已组织环卫人员清运垃圾，并增设垃圾桶。"),
    Case("2", "东阁街道路灯不亮", reply="经查，东阁街道路灯线路老化，市城市管理局已更换路灯线路。"),
    Case("3", "公司拖欠工资", reply="市人力资源和社会保障局劳动监察大队已督促该公司支付拖欠的工资。"),
    Case("4", "夜间施工噪音", reply="生态环境分局已责令施工单位停止夜间施工，噪声问题已整改。"),
]


@pytest.mark.parametrize("embedder", ["none", "svd"])
def test_finds_the_case_that_answers_the_report(embedder: str, tmp_path: Path) -> None:
    index = CaseIndex(embedder=embedder).fit(CASES)
    assert index.search("小区门口垃圾没人清运", k=2)[0].case.id == "1"
    assert index.search("工地夜里施工噪音太大", k=1)[0].case.id == "4"
    loaded = CaseIndex.load(index.save(tmp_path / "index"))
    assert [h.case for h in loaded.search("路灯坏了", 3)] == [h.case for h in index.search("路灯坏了", 3)]


def test_reply_boilerplate_is_stripped() -> None:
    assert clean_reply("网友您好！留言已收悉。 现将有关情况回复如下：已处理。2020年1月6日") == "已处理。"


def test_unknown_embedder_is_refused() -> None:
    with pytest.raises(ValueError, match="embedder must be one of"):
        CaseIndex(embedder="bert").fit(CASES)
