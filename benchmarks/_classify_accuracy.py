"""Event classification accuracy on real data, citymind's default next to the afternoon baseline, in one run.

For THUCNews (10k dev titles) and TipDM (495 messages, title + body), on the same stratified 5 folds (seed 0):
- ``citymind_default``: what ``citymind train event-classifier`` does with no flags — the categories' words from
  the knowledge snapshot ``pingdu-knowledge@production`` when the labels are its top categories (TipDM: the city's
  routing catalogue imported and registered first, as ``citymind kg import`` + ``kg register`` do; THUCNews news
  topics have no catalogue), then ``--algorithm auto`` — timed end to end (every family cross-validated, the fit,
  ONNX export, parity, registration into a fresh embedded MLflow);
- ``previous_default``: ``char-ngram-linear`` without the catalogue (the default before auto);
- ``afternoon_baseline``: TF-IDF char 1–3 grams (sublinear) + LinearSVC, C tuned by an inner 3-fold grid search;
- ``e5_sentence_reference``: the full e5 sentence vector (int8 graph, one transformer pass per text) + logistic
  regression (C=10): what e5's knowledge gives with no fast path, the ceiling the static e5 family reaches for;
- the fast path: in-process ``ServedModel.classify`` of one text through onnxruntime (as the gateway's ingress
  replica runs it), p50 of the chosen family's ONNX vs the previous default's, both trained on the same rows.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ACCEPT = {"thucnews": 0.90, "tipdm": 0.85}
LATENCY_RUNS, LATENCY_WARMUP = 2000, 200
TRAIN_BUDGET_S = 180.0
CATALOGUES = {"tipdm": ("complaints/tipdm2020_category_taxonomy.csv", "tipdm")}  #: the routing catalogue, scheme


def datasets(shared: Path) -> dict[str, Any]:
    from training.text.data import load_labelled_texts

    news = shared / "news_titles"
    complaints = shared / "complaints" / "tipdm2020_messages_labeled.csv"
    return {
        "thucnews": load_labelled_texts(
            news / "thucnews_titles_dev.txt",
            ["title"],
            "label",
            columns=["title", "label"],
            label_names=news / "thucnews_classes.txt",
        ),
        "tipdm": load_labelled_texts(complaints, ["留言主题", "留言详情"], "一级分类"),
    }


def afternoon_baseline(texts: list[str], labels: list[str], folds: int = 5, seed: int = 0) -> float:
    """Out-of-fold macro-F1 of char 1–3 TF-IDF + LinearSVC, C picked per fold by an inner 3-fold grid."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    x, y = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
    predicted = np.empty(len(y), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y.astype(str)):
        pipeline = Pipeline(
            [("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)), ("svm", LinearSVC())]
        )
        search = GridSearchCV(pipeline, {"svm__C": [0.1, 0.3, 1.0, 3.0]}, cv=3, scoring="f1_macro")
        predicted[test] = search.fit(list(x[train]), list(y[train])).predict(list(x[test]))
    return float(f1_score(y, predicted, average="macro"))


def e5_sentence_reference(texts: list[str], labels: list[str], folds: int = 5, seed: int = 0) -> float:
    """Out-of-fold macro-F1 of logistic regression on e5 query vectors (the case index's encoder: 64 tokens)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from knowledge_graph.embedders import e5_int8_encoder

    x, y = e5_int8_encoder().query([t[:1000] for t in texts], threads=2), np.asarray(labels, dtype=object)
    predicted = np.empty(len(y), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y.astype(str)):
        predicted[test] = LogisticRegression(C=10.0, max_iter=3000).fit(x[train], y[train]).predict(x[test])
    return float(f1_score(y, predicted, average="macro"))


def fast_path_p50_ms(registry: Any, name: str, text: str) -> float:
    """p50 of one text through the served model's classify (cleaning/tokens in Python, the graph in ORT)."""
    from models.served import load_served_model

    served = load_served_model(registry, registry.resolve(f"{name}@challenger"))
    for _ in range(LATENCY_WARMUP):
        served.classify([text], 1)
    times = []
    for _ in range(LATENCY_RUNS):
        started = time.perf_counter()
        served.classify([text], 1)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 4)


def register_catalogue(registry: Any, shared: Path, key: str) -> None:
    """The dataset's routing catalogue as the city's knowledge snapshot (what ``kg import`` + ``kg register`` do)."""
    from knowledge_graph.snapshot import KnowledgeSnapshot
    from knowledge_graph.taxonomy import import_catalogue

    if key in CATALOGUES:
        path, scheme = CATALOGUES[key]
        KnowledgeSnapshot(import_catalogue(shared / path, scheme=scheme)).register(registry, "pingdu-knowledge")


def one_dataset(key: str, data: Any, home: Path, shared: Path) -> dict[str, Any]:
    from registry import MlflowRegistry
    from training.text.event_classifier import train_event_classifier
    from training.text.knowledge import DEFAULT_KNOWLEDGE, category_knowledge

    registry = MlflowRegistry(
        f"sqlite:///{home / f'{key}.db'}", artifact_location=(home / key).as_uri(), cache_dir=home / f"{key}-cache"
    )
    registry.experiment_id("citymind-training")  # migrations of a new DB (~6 s) are not training time
    register_catalogue(registry, shared, key)
    started = time.perf_counter()
    knowledge, note = category_knowledge(registry, DEFAULT_KNOWLEDGE, data.classes)  # the CLI's default
    default = train_event_classifier(data, registry=registry, name=f"{key}-default", promote=True, knowledge=knowledge)
    seconds = time.perf_counter() - started
    previous = train_event_classifier(data, registry=registry, name=f"{key}-previous", algorithm="char-ngram-linear")
    text = data.texts[0]
    assert default.choice is not None
    return {
        "rows": len(data.texts),
        "classes": len(data.classes),
        "citymind_default": {
            "macro_f1": round(default.evaluation.macro_f1, 4),
            "chosen": default.choice.algorithm,
            "catalogue_words": default.knowledge.summary() if default.knowledge else note,
            "families": [score.row() for score in default.choice.scores],
            "training_seconds_end_to_end": round(seconds, 1),
            "onnx_parity_max_abs_diff": default.parity.max_abs_diff,
        },
        "previous_default_char_ngram_linear": {"macro_f1": round(previous.evaluation.macro_f1, 4)},
        "afternoon_baseline_char13_linearsvc_tuned_C": {
            "macro_f1": round(afternoon_baseline(data.texts, data.labels), 4)
        },
        "reference_e5_sentence_lr_not_fast_path": {
            "macro_f1": round(e5_sentence_reference(data.texts, data.labels), 4)
        },
        "fast_path_p50_ms": {
            "citymind_default": fast_path_p50_ms(registry, f"{key}-default", text),
            "previous_default": fast_path_p50_ms(registry, f"{key}-previous", text),
            "text_chars": len(text),
        },
    }


def measure_accuracy(shared: Path) -> dict[str, Any]:
    """Both datasets, then the acceptance goals of issue 23 (text rows) from the figures of this run."""
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="citymind-bench-accuracy-") as tmp:
        for key, data in datasets(shared).items():
            results[key] = one_dataset(key, data, Path(tmp), shared)
    goals: dict[str, Any] = {}
    for key, floor in ACCEPT.items():
        goals[f"goal_{key}_macro_f1_ge_{floor}"] = results[key]["citymind_default"]["macro_f1"] >= floor
    goals["goal_default_beats_afternoon_baseline"] = all(
        r["citymind_default"]["macro_f1"] > r["afternoon_baseline_char13_linearsvc_tuned_C"]["macro_f1"]
        for r in results.values()
    )
    ratios = {
        k: r["fast_path_p50_ms"]["citymind_default"] / r["fast_path_p50_ms"]["previous_default"]
        for k, r in results.items()
    }
    goals["fast_path_p50_ratio_to_previous_default"] = {k: round(v, 2) for k, v in ratios.items()}
    goals["goal_fast_path_p50_within_1_5x"] = all(v <= 1.5 for v in ratios.values())
    training = results["thucnews"]["citymind_default"]["training_seconds_end_to_end"]
    goals["goal_training_10k_titles_under_3_min"] = training < TRAIN_BUDGET_S
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    return {"load_average_1_5_15_min": load, "cpus": os.cpu_count(), "results": results, "summary": goals}
