"""Open Inference Protocol (KServe v2) REST: request/response shapes and tensor encoding."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Protocol, TypedDict

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from citymind.errors import ModelTimeout, Unprocessable, ValidationError
from models.served import ServedModel, check_text_lengths

#: OIP datatype ↔ numpy dtype; BYTES carries UTF-8 strings.
DATATYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": object,
}
Datatype = Literal["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
                   "FP64", "BYTES"]  # fmt: skip
ORT_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}
MAX_ELEMENTS = 1_000_000


class RequestInput(BaseModel):
    name: str = Field(max_length=256, examples=["text"])
    shape: list[Annotated[int, Field(ge=0)]] = Field(max_length=8, examples=[[1, 1]])
    datatype: Datatype = Field(examples=["BYTES"])
    data: list[Any] = Field(default_factory=list, examples=[["小区门口路灯坏了"]])
    parameters: dict[str, Any] | None = None


class RequestOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": ["路灯坏了", "噪音扰民"]}]}
            ]
        }
    )

    id: str | None = None
    inputs: list[RequestInput] = Field(min_length=1, max_length=64)
    outputs: list[RequestOutput] | None = None
    parameters: dict[str, Any] | None = None


BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}},
    }
}


async def read_inference_request(request: Request) -> InferenceRequest:
    """JSON body, or JSON header + binary tensors (the binary tensor extension tritonclient speaks)."""
    import pydantic

    raw = await request.body()
    header = request.headers.get("inference-header-content-length")
    if header is not None and (not (header.isascii() and header.isdigit()) or int(header) > len(raw)):
        raise ValidationError(f"Inference-Header-Content-Length {header!r} does not fit a {len(raw)}-byte body.")
    split = int(header) if header is not None else len(raw)
    try:
        body = InferenceRequest.model_validate_json(raw[:split])
    except pydantic.ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValidationError(f"not an OIP inference request: {where}") from None
    offset = split
    for tensor in body.inputs:
        size = (tensor.parameters or {}).get("binary_data_size")
        if size is None:
            continue
        if not isinstance(size, int) or size < 0 or offset + size > len(raw):
            raise ValidationError("binary_data_size exceeds the body.", location=f"inputs[{tensor.name}]")
        tensor.data = _binary_values(raw[offset : offset + size], tensor.datatype, tensor.name)
        offset += size
    return body


def _binary_values(chunk: bytes, datatype: str, name: str) -> list[bool | int | float] | list[str]:
    if datatype != "BYTES":
        if datatype not in DATATYPES:
            raise ValidationError(f"datatype {datatype!r} is not an OIP datatype.", location=f"inputs[{name}]")
        dtype = np.dtype(DATATYPES[datatype]).newbyteorder("<")
        if len(chunk) % dtype.itemsize:
            raise ValidationError("binary data is not a whole number of elements.", location=f"inputs[{name}]")
        return np.frombuffer(chunk, dtype=dtype).tolist()
    values: list[str] = []
    pos = 0
    while pos < len(chunk):
        if pos + 4 > len(chunk):
            raise ValidationError("truncated BYTES element.", location=f"inputs[{name}]")
        length = int.from_bytes(chunk[pos : pos + 4], "little")
        element = chunk[pos + 4 : pos + 4 + length]
        if len(element) != length:
            raise ValidationError("truncated BYTES element.", location=f"inputs[{name}]")
        try:
            values.append(element.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValidationError("BYTES element is not UTF-8 text.", location=f"inputs[{name}]") from None
        pos += 4 + length
    return values


def decode_input(tensor: RequestInput, expected_type: str | None) -> np.ndarray:
    """The numpy array of one OIP input; a 400-worthy ``ValidationError`` when it does not add up."""
    where = f"inputs[{tensor.name}]"
    if tensor.datatype not in DATATYPES:
        raise ValidationError(
            f"datatype {tensor.datatype!r} is not an OIP datatype; use one of {sorted(DATATYPES)}.", location=where
        )
    if expected_type and tensor.datatype != expected_type:
        raise Unprocessable(f"the model expects datatype {expected_type}, got {tensor.datatype}.", location=where)
    if any(d < 0 for d in tensor.shape):
        raise Unprocessable(f"shape {tensor.shape} has a negative dimension.", location=where)
    count = math.prod(tensor.shape)
    flat = _flatten(tensor.data)
    if count > MAX_ELEMENTS:
        raise Unprocessable(f"shape {tensor.shape} has {count} elements; the limit is {MAX_ELEMENTS}.", location=where)
    if len(flat) != count:
        raise Unprocessable(f"shape {tensor.shape} needs {count} elements but data has {len(flat)}.", location=where)
    if tensor.datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise Unprocessable("BYTES data must be strings.", location=where)
        return np.asarray(flat, dtype=object).reshape(tensor.shape)
    if not all(isinstance(v, int | float | bool) and not isinstance(v, str) for v in flat):
        raise Unprocessable(f"{tensor.datatype} data must be numbers.", location=where)
    try:
        array = np.asarray(flat, dtype=DATATYPES[tensor.datatype]).reshape(tensor.shape)
    except (OverflowError, ValueError) as exc:
        raise Unprocessable(f"data does not fit {tensor.datatype}: {exc}", location=where) from exc
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise Unprocessable("data contains NaN or infinity.", location=where)
    return array


def encode_output(name: str, array: np.ndarray) -> dict[str, object]:
    if array.dtype == object or array.dtype.kind in "US":
        datatype = "BYTES"
        data = [str(v) for v in array.reshape(-1).tolist()]
    else:
        datatype = next((k for k, v in DATATYPES.items() if v is not object and np.dtype(v) == array.dtype), "FP64")
        data = array.reshape(-1).tolist()
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def _flatten(data: list[object]) -> list[object]:
    out: list[object] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def binary_outputs(body: InferenceRequest, names: list[str]) -> set[str]:
    """Outputs the client wants as raw bytes (the binary tensor extension): an output's own ``binary_data``
    parameter, else the request's ``binary_data_output`` (what tritonclient sends when it names no outputs)."""
    default = bool((body.parameters or {}).get("binary_data_output", False))
    asked = {o.name: bool((o.parameters or {}).get("binary_data", default)) for o in body.outputs or []}
    return {name for name in names if asked.get(name, default)}


def encode_response(
    head: Mapping[str, object], values: dict[str, np.ndarray], binary: set[str]
) -> tuple[bytes, int | None]:
    """The response body and, when some outputs travel as bytes after the JSON header, the header's length
    (for ``Inference-Header-Content-Length``)."""
    outputs, blobs = [], []
    for name, array in values.items():
        if name in binary:
            blob = _tensor_bytes(array)
            encoded = encode_output(name, array)
            del encoded["data"]
            outputs.append({**encoded, "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
        else:
            outputs.append(encode_output(name, array))
    header = json.dumps({**head, "outputs": outputs}, ensure_ascii=False, separators=(",", ":")).encode()
    return (header + b"".join(blobs), len(header)) if blobs else (header, None)


def _tensor_bytes(array: np.ndarray) -> bytes:
    """Row-major little-endian elements; BYTES elements as a 4-byte little-endian length and the UTF-8 text."""
    if array.dtype == object or array.dtype.kind in "US":
        parts = []
        for value in array.reshape(-1).tolist():
            raw = value if isinstance(value, bytes) else str(value).encode()
            parts += [len(raw).to_bytes(4, "little"), raw]
        return b"".join(parts)
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


class TensorSpec(Protocol):
    """An onnxruntime session's input or output (``NodeArg``): its name, type (``tensor(float)``) and shape (a
    free dimension is a name or None)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def shape(self) -> Sequence[int | str | None]: ...


class TensorMetadata(TypedDict):
    name: str
    datatype: str
    shape: list[int]


def tensors(specs: Sequence[TensorSpec]) -> list[TensorMetadata]:
    """OIP tensor metadata of an onnxruntime session's inputs or outputs."""
    return [
        {
            "name": t.name,
            "datatype": ORT_TYPES.get(t.type, t.type),
            "shape": _shape(t),
        }
        for t in specs
    ]


def model_metadata(model: ServedModel) -> dict[str, object]:
    return {
        "name": model.name,
        "versions": [str(model.version)],
        "platform": "onnxruntime_onnx",
        "inputs": tensors(model.session.get_inputs()),
        "outputs": tensors(model.session.get_outputs()),
    }


def infer(model: ServedModel, inputs: list[RequestInput], wanted: list[str] | None = None) -> dict[str, np.ndarray]:
    """Run a served model on OIP inputs; a 400-worthy ``ValidationError`` for inputs or outputs it does not have."""
    specs = model.session.get_inputs()
    declared = {t.name: ORT_TYPES.get(t.type) for t in specs}
    unknown = [t.name for t in inputs if t.name not in declared]
    missing = [n for n in declared if n not in {t.name for t in inputs}]
    if unknown or missing:
        raise Unprocessable(
            f"model {model.name} v{model.version} takes inputs {sorted(declared)}; unknown "
            f"{unknown}, missing {missing}.",
            location="inputs",
        )
    feed = {t.name: decode_input(t, declared[t.name]) for t in inputs}
    for spec in specs:
        _check_shape(spec, feed[spec.name])
    if model.text_classifier is not None:
        feed = {k: model.text_classifier.clean(check_text_lengths(k, v)) for k, v in feed.items()}
    names = [o.name for o in model.session.get_outputs()]
    bad = [n for n in wanted or [] if n not in names]
    if bad:
        raise Unprocessable(f"model {model.name} has outputs {names}; {bad} requested.", location="outputs")
    try:
        values = model.run(wanted or names, feed)
    except ModelTimeout:
        raise
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidArgument types
        raise Unprocessable(f"model {model.name} v{model.version} rejected the input: {exc}") from exc
    return dict(zip(wanted or names, values, strict=True))


def _shape(spec: TensorSpec) -> list[int]:
    """The declared shape, -1 for a free dimension (a name such as ``batch``, or none)."""
    return [d if isinstance(d, int) else -1 for d in spec.shape]


def _check_shape(spec: TensorSpec, array: np.ndarray) -> None:
    """The input's rank and fixed dimensions against the model's (a free dimension, such as the batch, takes any
    size), with the shape the model declares: onnxruntime's own message names neither."""
    declared = _shape(spec)
    fits = len(declared) == array.ndim and all(d in (-1, n) for d, n in zip(declared, array.shape, strict=True))
    if not fits:
        raise Unprocessable(
            f"the model expects shape {declared} (-1: any size), got {list(array.shape)}.",
            location=f"inputs[{spec.name}]",
        )
