"""The catalogue's words as classifier features: the graph's vocabulary per category, the features' fold into one
linear layer over binary n-grams, and the exported graph computing exactly the fitted model."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import knowledge_graph.graph
from knowledge_graph.defaults import load_pingdu
from models.text.event_classifier import EventClassifier
from models.text.taxonomy import feature_map, fold_standardised, presence_vectorizer
from training.text.data import LabelledTexts, load_labelled_texts
from training.text.parity import check_parity
from training.text.sample_corpus import generate_sample_reports


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> LabelledTexts:
    path = generate_sample_reports(tmp_path_factory.mktemp("corpus") / "reports.csv", per_category=15)
    return load_labelled_texts(path, ["text"], "category")


@pytest.fixture(scope="module")
def vocabulary(sample: LabelledTexts) -> dict[str, list[str]]:
    return load_pingdu().category_vocabulary(sample.classes)


def test_the_graph_gives_every_top_category_of_the_labels_scheme_with_all_labels_beneath(
    vocabulary: dict[str, list[str]], sample: LabelledTexts
) -> None:
    assert set(sample.classes) <= set(vocabulary)
    assert {"路灯照明", "路灯不亮", "小广告", "拉圾清运"} <= set(vocabulary["市容环境"])  # labels, alt, hidden
    assert "路灯照明" not in vocabulary["道路交通"]
    assert load_pingdu().category_vocabulary([*sample.classes, "不是类别"]) == {}


def test_a_taxonomy_without_terms_is_no_taxonomy(sample: LabelledTexts) -> None:
    blank = EventClassifier(taxonomy={"市容环境": ["", " "]}).fit(sample.texts, sample.labels)
    plain = EventClassifier().fit(sample.texts, sample.labels)
    np.testing.assert_array_equal(blank.predict_proba(sample.texts[:10]), plain.predict_proba(sample.texts[:10]))


def test_features_are_term_overlap_and_term_share_read_from_binary_ngrams() -> None:
    taxonomy = {"市容": ["路灯不亮", "小广告"], "交通": ["井盖"]}
    grams, matrix = feature_map(taxonomy)
    presence = presence_vectorizer(grams).fit_transform(["路灯不亮了", "灯不行, 井盖丢了", "没有"])
    features = np.asarray(presence @ matrix)
    # columns: 交通 overlap, 交通 share, 市容 overlap, 市容 share (categories in name order)
    assert features[0].tolist() == pytest.approx([0.0, 0.0, 0.5, 0.5])  # 路灯不亮: all 3 bigrams + whole
    assert features[1].tolist() == pytest.approx([1.0, 1.0, 1 / 6, 0.0])  # 灯不 is 1 of 路灯不亮's 3 bigrams
    assert features[2].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_standardised_features_fold_into_weights_over_their_ngrams() -> None:
    rng = np.random.default_rng(0)
    presence, matrix = rng.integers(0, 2, (9, 12)).astype(float), rng.random((12, 4))
    coef, intercept = rng.normal(size=(3, 4)), rng.normal(size=3)
    mean, scale = rng.random(4), rng.random(4) + 0.5
    weights, bias = fold_standardised(coef, intercept, matrix, mean, scale)
    expected = ((presence @ matrix - mean) * scale) @ coef.T + intercept
    assert np.allclose(presence @ weights.T + bias, expected)


def test_a_classifier_with_the_catalogue_exports_one_exact_graph(
    sample: LabelledTexts, vocabulary: dict[str, list[str]]
) -> None:
    plain = EventClassifier().fit(sample.texts, sample.labels)
    informed = EventClassifier(taxonomy=vocabulary).fit(sample.texts, sample.labels)
    assert informed.get_params()["taxonomy"] is vocabulary
    tfidf, grams = (len(step.vocabulary_) for _, step in informed.pipeline_.steps[0][1].transformer_list)
    assert informed.pipeline_.steps[1][1].coef_.shape == (len(sample.classes), tfidf + grams)
    assert grams == len(feature_map(vocabulary)[0])
    assert not np.allclose(plain.predict_proba(sample.texts[:20]), informed.predict_proba(sample.texts[:20]))
    assert (informed.predict(sample.texts) == np.asarray(sample.labels, dtype=object)).mean() > 0.9
    report = check_parity(informed, informed.to_onnx(), sample.texts[:50])
    assert report.ok, report


def test_catalogue_words_never_seen_in_training_point_to_their_category(vocabulary: dict[str, list[str]]) -> None:
    """Trained on some of each category's catalogue words; asked about others sharing no character with the
    training texts: the TF-IDF part cannot tell them apart, the catalogue features can."""
    texts, labels = ["垃圾堆放", "流动摊贩", "路面塌陷", "道路破损"], ["市容环境", "市容环境", "道路交通", "道路交通"]
    unseen = ["违章搭建", "井盖缺失"]
    assert not set("".join(unseen)) & set("".join(texts))
    plain = EventClassifier(min_df=1).fit(texts, labels)
    assert len(set(plain.predict(unseen))) == 1
    informed = EventClassifier(min_df=1, taxonomy=vocabulary).fit(texts, labels)
    assert informed.predict(unseen).tolist() == ["市容环境", "道路交通"]


def test_the_graph_s_vocabulary_example_prints_its_real_result() -> None:
    result = doctest.testmod(knowledge_graph.graph, verbose=False)
    assert result.attempted >= 3 and result.failed == 0
