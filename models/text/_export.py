"""What every exported text classifier shares: the ONNX conversion, its metadata and its signature."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

from models.base import Signature, TensorDecl
from models.text._lookup import l2_as_reduce, lookup_linear_layer

CLASSES_METADATA = "citymind.classes"
PREPROCESS_METADATA = "citymind.preprocess"

#: What the graph's ``text`` input really holds, by the preprocessing an exported model records.
_INPUTS = {
    "clean_text": "report text after models.text.cleaning.clean_text (NFKC, control characters removed, whitespace "
    "collapsed and stripped, first {max_chars} characters)",
    "short_text_tokens": "the space-joined tokens of models.text.cleaning.short_text_tokens (character 1–2-grams, "
    "rjieba words, prefix and suffix of the cleaned first {max_chars} characters)",
    "short_text_pieces": "the space-joined tokens of models.text.cleaning.short_text_pieces (short_text_tokens, then "
    "the e5 piece ids of the cleaned first {max_chars} characters as p<id>)",
}


def input_contract(preprocess: str, max_chars: int) -> str:
    """One paragraph for the ONNX doc strings and the registered version's description: the graph does not
    take raw text (NFKC and rjieba have no ONNX operator), so whoever feeds it directly must preprocess."""
    return (
        f"Input 'text' is not raw text: it is {_INPUTS[preprocess].format(max_chars=max_chars)}. Raw text gives "
        "different n-grams and probabilities. The citymind gateway and models.onnx_session.OnnxTextClassifier "
        f"apply it (ONNX metadata {PREPROCESS_METADATA}); plain onnxruntime and `mlflow models serve` do not."
    )


def export_text_pipeline(pipeline: Any, name: str, family: Any) -> Any:
    """Convert a fitted text family's (vectorizer or union of vectorizers, linear) sklearn pipeline taking one
    string column, recording its class names and the Python preprocessing its tags name (``extra["preprocess"]``),
    which must run before it."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    classes, max_chars = family.classes_, family.max_chars
    preprocess = family.tags.extra["preprocess"].rsplit(".", 1)[-1]  # models.text.cleaning.clean_text → clean_text

    features, linear = (step for _, step in pipeline.steps)
    vectorizers = [step for _, step in getattr(features, "transformer_list", [("", features)])]  # or a FeatureUnion
    options = {id(linear): {"zipmap": False}, **{id(v): {"locale": "C.UTF-8"} for v in vectorizers}}
    with warnings.catch_warnings():  # skl2onnx warns on non-word analyzers; parity is checked on every export
        warnings.simplefilter("ignore", UserWarning)
        model = convert_sklearn(
            pipeline,
            name,
            [("text", StringTensorType([None, 1]))],
            options=options,
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    model = lookup_linear_layer(model)  # token counts → linear: a lookup of the tokens' weights (same logits)
    model = l2_as_reduce(model)  # TF-IDF's row norm in three plain nodes, 2× faster than ml's Normalizer
    for key, value in {
        CLASSES_METADATA: json.dumps(list(classes), ensure_ascii=False),
        PREPROCESS_METADATA: f"{preprocess}:max_chars={max_chars}",
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.doc_string = model.graph.input[0].doc_string = input_contract(preprocess, max_chars)
    return model


def text_signature(classes: Sequence[str]) -> Signature:
    return Signature(
        inputs=(TensorDecl("text", "str", (-1, 1)),),
        outputs=(TensorDecl("label", "str", (-1,)), TensorDecl("probabilities", "float32", (-1, len(classes) or -1))),
    )


def check_labels(model: str, X: Sequence[str], y: Sequence[Any] | None) -> Any:
    """Labels as an object array of strings, after checking there is one per text and at least 2 classes."""
    import numpy as np

    if y is None:
        raise ValueError(f"{model}.fit needs labels: fit(texts, labels).")
    labels = np.asarray([str(label) for label in y], dtype=object)
    if len(labels) != len(X) or len(set(labels)) < 2:
        raise ValueError(
            f"fit needs as many labels as texts and at least 2 classes; got {len(X)} texts, "
            f"{len(labels)} labels, {len(set(labels))} classes."
        )
    return labels


def check_texts(X: Sequence[str]) -> None:
    if isinstance(X, str):
        raise TypeError("Pass a list of texts, not a single string: predict(['...']).")
