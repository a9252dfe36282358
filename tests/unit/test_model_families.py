"""One contract suite over every model family: the estimator contract, ONNX export and parity."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest

import knowledge_graph.e5.pieces
import models.text.cleaning
import models.text.event_classifier
import models.text.short_text
import models.text.static_e5
import models.text.taxonomy
import training.text.evaluation
from models.base import NotFittedError
from training.algorithms import FAMILIES
from training.text.data import load_labelled_texts
from training.text.parity import EDGE_CASES, check_parity
from training.text.sample_corpus import generate_sample_reports


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = generate_sample_reports(tmp_path_factory.mktemp("corpus") / "reports.csv", per_category=30)
    return load_labelled_texts(path, ["text"], "category")


@pytest.mark.parametrize("algorithm", sorted(FAMILIES))
def test_constructor_is_the_parameter_list(algorithm: str) -> None:
    cls = FAMILIES[algorithm]
    params = cls().get_params()
    assert cls(**params).get_params() == params
    assert repr(cls()).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("algorithm", sorted(FAMILIES))
def test_unfitted_model_raises_not_fitted(algorithm: str) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        FAMILIES[algorithm]().predict_proba(["路灯不亮"])


@pytest.mark.parametrize("algorithm", sorted(FAMILIES))
def test_fit_predict_and_onnx_parity(algorithm: str, sample) -> None:  # type: ignore[no-untyped-def]
    model = FAMILIES[algorithm]().fit(sample.texts, sample.labels)
    proba = model.predict_proba(sample.texts[:20])
    assert proba.shape == (20, len(sample.classes)) and np.allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(sample.texts) == np.asarray(sample.labels, dtype=object)).mean() > 0.9
    assert model.predict(["小区楼道里闻到很浓的煤气味"]).tolist() == ["公共安全"]
    report = check_parity(model, model.to_onnx(), sample.texts[:50])
    assert report.ok and report.rows == 50 + len(EDGE_CASES)
    signature = model.signature()
    assert [t.name for t in signature.inputs] == ["text"]
    assert signature.outputs[1].shape == (-1, len(sample.classes))
    assert model.tags.onnx_exportable and model.tags.latency_critical


@pytest.mark.parametrize("algorithm", sorted(FAMILIES))
def test_a_single_string_is_refused(algorithm: str, sample) -> None:  # type: ignore[no-untyped-def]
    model = FAMILIES[algorithm]().fit(sample.texts, sample.labels)
    with pytest.raises(TypeError, match="list of texts"):
        model.predict("路灯不亮")


@pytest.mark.parametrize(
    "module",
    [
        models.text.cleaning,
        models.text.event_classifier,
        models.text.short_text,
        models.text.static_e5,
        models.text.taxonomy,
        knowledge_graph.e5.pieces,
        training.text.evaluation,
    ],
)
def test_docstring_examples_print_their_real_results(module: object) -> None:
    result = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def test_sample_corpus_is_deterministic_and_marked(tmp_path: Path) -> None:
    a = generate_sample_reports(tmp_path / "a.csv", per_category=5).read_text(encoding="utf-8")
    b = generate_sample_reports(tmp_path / "b.csv", per_category=5).read_text(encoding="utf-8")
    assert a == b and a.splitlines()[0] == "text,category,sample" and a.count(",synthetic") == 40


@pytest.mark.parametrize("algorithm", sorted(FAMILIES))
def test_fit_needs_one_label_per_text_and_two_classes(algorithm: str) -> None:
    with pytest.raises(ValueError, match="needs labels"):
        FAMILIES[algorithm]().fit(["路灯不亮"])
    with pytest.raises(ValueError, match="at least 2 classes; got 2 texts, 2 labels, 1 classes"):
        FAMILIES[algorithm]().fit(["路灯不亮", "路灯坏了"], ["市容环境", "市容环境"])


@pytest.mark.parametrize("algorithm", sorted(FAMILIES))
def test_the_onnx_graph_takes_preprocessed_text_and_says_so(algorithm: str, sample) -> None:  # type: ignore[no-untyped-def]
    """Raw text fed to the bare ONNX graph gives other probabilities; the recorded preprocessing restores them."""
    from models.onnx_session import OnnxTextClassifier, make_session

    model = FAMILIES[algorithm]().fit(sample.texts, sample.labels)
    onnx_model = model.to_onnx()
    assert onnx_model.graph.input[0].doc_string.startswith("Input 'text' is not raw text")
    session = make_session(onnx_model.SerializeToString())
    served = OnnxTextClassifier(session)
    raw = "平度市\t南村镇　小区门口垃圾堆放，很久没人清理！！"  # a tab, a full-width space and punctuation

    def bare(text: str) -> np.ndarray:
        return session.run(["probabilities"], {"text": np.asarray([[text]], dtype=object)})[0]

    expected = model.predict_proba([raw])
    assert np.abs(bare(raw) - expected).max() > 1e-3
    assert np.abs(bare(served.preprocess(raw, served.max_chars)) - expected).max() < 1e-5


def test_token_count_graphs_look_the_tokens_weights_up(sample) -> None:  # type: ignore[no-untyped-def]
    """static-e5's counts + linear layer become LabelEncoder → Gather → ReduceSum (the same logits: repeated
    pieces count again, unknown tokens add nothing); TF-IDF with a norm and binary counts keep their layer."""
    from models.onnx_session import OnnxTextClassifier, make_session

    static = FAMILIES["nbsvm-static-e5"]().fit(sample.texts, sample.labels)
    graph = static.to_onnx()
    ops = [node.op_type for node in graph.graph.node]
    assert {"LabelEncoder", "Gather", "ReduceSum"} <= set(ops) and "LinearClassifier" not in ops
    texts = ["路灯路灯路灯路灯不亮", "𝔘𝔫𝔨𝔫𝔬𝔴𝔫 ☃", "小区楼道里闻到很浓的煤气味", ""]
    served = OnnxTextClassifier(make_session(graph.SerializeToString()))
    np.testing.assert_allclose(served.predict_proba(texts), static.predict_proba(texts), atol=1e-5)
    session = make_session(graph.SerializeToString())
    feed = np.asarray([[models.text.cleaning.short_text_pieces(t)] for t in texts], dtype=object)
    assert session.run(["label"], {"text": feed})[0].tolist() == static.predict(texts).tolist()
    for algorithm in ("char-ngram-linear", "nbsvm-short-text"):
        kept = FAMILIES[algorithm]().fit(sample.texts, sample.labels).to_onnx()
        assert "LinearClassifier" in [node.op_type for node in kept.graph.node]


def test_tfidf_row_norms_are_plain_nodes_with_sklearns_zero_rows(sample) -> None:  # type: ignore[no-untyped-def]
    """char-ngram's L2 ``Normalizer`` becomes ReduceL2 → Max → Div (models.text._lookup.l2_as_reduce): the same
    probabilities, a text with no known n-gram included (its row of zeros stays zeros, as sklearn leaves it)."""
    from models.onnx_session import OnnxTextClassifier, make_session

    model = FAMILIES["char-ngram-linear"]().fit(sample.texts, sample.labels)
    graph = model.to_onnx()
    ops = [node.op_type for node in graph.graph.node]
    assert ops[ops.index("ReduceL2") :][:3] == ["ReduceL2", "Max", "Div"]
    assert [n for n in graph.graph.node if n.op_type == "Normalizer" and n.attribute[0].s == b"L2"] == []
    texts = ["路灯路灯路灯路灯不亮", "𝔘𝔫𝔨𝔫𝔬𝔴𝔫 ☃", "小区楼道里闻到很浓的煤气味", ""]
    served = OnnxTextClassifier(make_session(graph.SerializeToString()))
    np.testing.assert_allclose(served.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
