"""The binary tensor extension of the Open Inference Protocol (what tritonclient speaks): a JSON header, then each
tensor's raw little-endian bytes; ``Inference-Header-Content-Length`` says where the header ends."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

#: OIP datatype of a NumPy dtype kind and size
DATATYPES = {
    ("b", 1): "BOOL", ("u", 1): "UINT8", ("u", 2): "UINT16", ("u", 4): "UINT32", ("u", 8): "UINT64",
    ("i", 1): "INT8", ("i", 2): "INT16", ("i", 4): "INT32", ("i", 8): "INT64",
    ("f", 2): "FP16", ("f", 4): "FP32", ("f", 8): "FP64",
}  # fmt: skip
DTYPES = {
    name: np.dtype(f"<{kind}{size}") if kind != "b" else np.dtype(bool) for (kind, size), name in DATATYPES.items()
}


def datatype(array: np.ndarray) -> str:
    if array.dtype.kind in "OUS":
        return "BYTES"
    try:
        return DATATYPES[(array.dtype.kind, array.dtype.itemsize)]
    except KeyError:
        raise TypeError(f"no OIP datatype for {array.dtype}; send bool, integers, floats or text") from None


def tensor_bytes(array: np.ndarray) -> bytes:
    """A tensor's binary data: BYTES elements each with a 4-byte little-endian length, numbers little-endian."""
    if datatype(array) != "BYTES":
        return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    parts = []
    for value in array.reshape(-1).tolist():
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        parts.append(len(raw).to_bytes(4, "little") + raw)
    return b"".join(parts)


def encode_request(
    inputs: dict[str, np.ndarray], outputs: list[str] | None, binary_outputs: bool
) -> tuple[bytes, dict[str, str]]:
    """The request body (header + tensors) and its headers."""
    tensors, blobs = [], []
    for name, value in inputs.items():
        array = np.asarray(value)
        blob = tensor_bytes(array)
        blobs.append(blob)
        tensors.append({"name": name, "datatype": datatype(array), "shape": list(array.shape),
                        "parameters": {"binary_data_size": len(blob)}})  # fmt: skip
    header: dict[str, Any] = {"inputs": tensors, "parameters": {"binary_data_output": binary_outputs}}
    if outputs:
        header["outputs"] = [{"name": n, "parameters": {"binary_data": binary_outputs}} for n in outputs]
    head = json.dumps(header).encode("utf-8")
    headers = {"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"}
    return head + b"".join(blobs), headers


def decode_answer(body: bytes, header_length: int | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The answer's JSON header and its outputs as arrays (binary or JSON data alike)."""
    split = header_length if header_length is not None else len(body)
    header = json.loads(body[:split])
    arrays, offset = {}, split
    for tensor in header.get("outputs", []):
        shape = tensor["shape"]
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is None:
            data = tensor.get("data", [])
            arrays[tensor["name"]] = np.asarray(data, dtype=object if tensor["datatype"] == "BYTES" else None)
        else:
            arrays[tensor["name"]] = _from_bytes(body[offset : offset + size], tensor["datatype"])
            offset += size
        arrays[tensor["name"]] = arrays[tensor["name"]].reshape(shape)
    return header, arrays


def _from_bytes(chunk: bytes, kind: str) -> np.ndarray:
    if kind != "BYTES":
        return np.frombuffer(chunk, dtype=DTYPES[kind]).copy()
    values, pos = [], 0
    while pos < len(chunk):
        length = int.from_bytes(chunk[pos : pos + 4], "little")
        values.append(chunk[pos + 4 : pos + 4 + length].decode("utf-8", "replace"))
        pos += 4 + length
    return np.asarray(values, dtype=object)
