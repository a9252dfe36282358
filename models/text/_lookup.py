"""A faster ONNX graph for token-count text classifiers: look each token's weights up instead of multiplying.

skl2onnx turns CountVectorizer + a linear model into ``TfIdfVectorizer`` (a dense row of every vocabulary column)
followed by ``LinearClassifier`` (a dense product over all of them): for the static-e5 family's 138k columns that
product is 140 µs of a title's ~200 µs. A title has ~60 tokens, so the same logits are the sum of those tokens'
weight rows: ``LabelEncoder`` (token → column, unknown and padding → a zero row), ``Gather``, ``ReduceSum``, then
the intercepts and the softmax. Counts stay counts (a repeated token adds its row again), so the graph computes
what the fitted model does; the export's parity check still runs on every model. Where a TF-IDF row is normalised
(the char-ngram family), its L2 ``Normalizer`` becomes three plain nodes (:func:`l2_as_reduce`).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _counts_then_softmax(model: Any) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """Where ``TfIdfVectorizer`` (unigram term counts) feeds a multinomial ``LinearClassifier`` directly."""
    nodes = list(model.graph.node)
    for i, (counts, linear) in enumerate(pairwise(nodes)):
        if counts.op_type != "TfIdfVectorizer" or linear.op_type != "LinearClassifier":
            continue
        c, lin = _attributes(counts), _attributes(linear)
        unigram_counts = c["mode"] == b"TF" and c["max_gram_length"] == 1 and set(c.get("weights", [1.0])) <= {1.0}
        multinomial = lin.get("post_transform") == b"SOFTMAX" and lin.get("multi_class") == 1
        classes = len(lin["classlabels_strings"])
        if linear.input[0] == counts.output[0] and unigram_counts and multinomial and classes > 2:
            return i, c, lin
    return None


def lookup_linear_layer(model: Any) -> Any:
    """``model`` with its token counts + linear classifier replaced by a weight lookup (in place); unchanged
    when the graph has no such pair (TF-IDF with a norm, binary counts, two classes)."""
    from onnx import helper, numpy_helper

    found = _counts_then_softmax(model)
    if found is None:
        return model
    i, counts, linear = found
    graph, labels = model.graph, [s.decode() for s in linear["classlabels_strings"]]
    coef = np.asarray(linear["coefficients"], dtype=np.float32).reshape(len(labels), -1)
    width = coef.shape[1]
    table = np.zeros((width + 1, len(labels)), dtype=np.float32)
    table[:width] = coef.T  # row j: vocabulary column j; the last row (unknown tokens, padding) stays zero
    constants = {
        "lookup_weights": table,
        "lookup_intercepts": np.asarray(linear["intercepts"], dtype=np.float32),
        "lookup_labels": np.asarray(labels, dtype=object),
        "lookup_token_axis": np.asarray([1], dtype=np.int64),
    }
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    tokens, (label, probabilities) = graph.node[i].input[0], graph.node[i + 1].output
    lookup = [
        helper.make_node("LabelEncoder", [tokens], ["lookup_columns"], domain="ai.onnx.ml",
                         keys_strings=counts["pool_strings"], values_int64s=list(counts["ngram_indexes"]),
                         default_int64=width),
        helper.make_node("Gather", ["lookup_weights", "lookup_columns"], ["lookup_rows"], axis=0),
        helper.make_node("ReduceSum", ["lookup_rows", "lookup_token_axis"], ["lookup_sums"], keepdims=0),
        helper.make_node("Add", ["lookup_sums", "lookup_intercepts"], ["lookup_logits"]),
        helper.make_node("Softmax", ["lookup_logits"], [probabilities], axis=1),
        helper.make_node("ArgMax", [probabilities], ["lookup_best"], axis=1, keepdims=0),
        helper.make_node("Gather", ["lookup_labels", "lookup_best"], [label], axis=0),
    ]  # fmt: skip
    nodes = [*graph.node[:i], *lookup, *graph.node[i + 2 :]]
    del graph.node[:]
    graph.node.extend(nodes)
    for opset in model.opset_import:
        if opset.domain == "ai.onnx.ml" and opset.version < 2:
            opset.version = 2  # LabelEncoder's keys_strings / values_int64s
    return model


def l2_as_reduce(model: Any) -> Any:
    """``model`` with each L2 ``Normalizer`` (TF-IDF's row norm) replaced by ``ReduceL2`` → ``Max`` → ``Div``
    (in place). onnxruntime's ``Normalizer`` took 49 µs of a THUCNews title's 126 µs in the char-ngram graph
    (21k columns); the three nodes take 23 µs. A row of zeros (no known n-gram) stays zeros, as in sklearn."""
    from onnx import helper, numpy_helper

    graph, nodes, tiny = model.graph, [], "l2_tiny"
    for node in graph.node:
        if node.op_type != "Normalizer" or _attributes(node).get("norm") != b"L2":
            nodes.append(node)
            continue
        rows, norm, safe = node.input[0], f"{node.output[0]}_l2", f"{node.output[0]}_l2_safe"
        nodes += [
            helper.make_node("ReduceL2", [rows], [norm], axes=[1], keepdims=1),  # opset 17: axes an attribute
            helper.make_node("Max", [norm, tiny], [safe]),
            helper.make_node("Div", [rows, safe], list(node.output)),
        ]
    if len(nodes) != len(graph.node):
        graph.initializer.append(numpy_helper.from_array(np.asarray(1e-30, dtype=np.float32), tiny))
        del graph.node[:]
        graph.node.extend(nodes)
    return model
