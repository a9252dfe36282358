"""``image.decode``: a camera frame as bytes (or base64 text) → a pixel array, within limits."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from models.components.base import Component, ComponentTags
from registry import ValidationError

#: a 4×3 red PNG with one green pixel at (0, 0)
_RED_4X3_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAGklEQVQIHWNk+M/wn5EBAhj/MyAA438GBAAAbSoEAZprwtEAAAAASUVORK5CYII="
)
_FORMATS = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}


class ImageDecoder(Component):
    """JPEG or PNG bytes, or their base64 text (a ``data:image/...;base64,`` prefix is allowed) → ``pixels``
    (height × width × channels, uint8, BGR as OpenCV uses) with ``width``, ``height`` and ``format``. The size
    is read from the header first: an image over ``max_pixels`` is refused before it is decoded (no
    decompression bomb), as is any other format. EXIF orientation is applied, so a phone photo comes out
    upright. ``channels`` is 3 (colour) or 1 (grey). A batch may decode at most ``max_batch_pixels`` in all,
    checked on the headers before any image is decoded (many small files can hold huge images)."""

    name = "image.decode"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["image"],
        "properties": {"image": {"type": "string", "description": "JPEG/PNG bytes, or base64 of them"}},
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["pixels", "width", "height", "format"],
        "properties": {
            "pixels": {"description": "uint8 array, height × width × channels"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "format": {"enum": ["jpeg", "png"]},
        },
    }
    tags = ComponentTags(input_kind="image")

    examples: ClassVar[list[dict[str, Any]]] = [
        {"image": _RED_4X3_PNG},
    ]

    def __init__(
        self,
        max_pixels: int = 4096 * 4096,
        channels: int = 3,
        max_bytes: int = 20 * 1024 * 1024,
        max_batch_pixels: int = 64 * 1024 * 1024,
    ) -> None:
        self.max_pixels = max_pixels
        self.channels = channels
        self.max_bytes = max_bytes
        self.max_batch_pixels = max_batch_pixels

    def process_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        data = [self._bytes(r["image"]) for r in records]
        sizes = [self.size(d) for d in data]
        total = sum(w * h for _, w, h in sizes)
        if total > self.max_batch_pixels:
            raise ValidationError(
                f"image.decode: the {len(records)} images hold {total} pixels in all; the limit for one call is "
                f"{self.max_batch_pixels}. Send fewer or smaller images."
            )
        out = []
        for d, (kind, _, _) in zip(data, sizes, strict=True):
            pixels = self.pixels(d, kind)
            out.append(
                {"pixels": pixels, "width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "format": kind}
            )
        return out

    def load(self, registry: Any = None) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"The 'channels' parameter of image.decode must be 1 or 3. Got {self.channels!r}.")

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.process_batch([record])[0]

    def encoded(self, image: Any) -> bytes:
        """``image`` (bytes or base64 text) as checked image bytes, not yet decoded: what a service passes on
        when another process decodes (a JPEG is a tenth of its pixels)."""
        data = self._bytes(image)
        self.inspect(data)
        return data

    def inspect(self, data: bytes) -> str:
        """The format (``jpeg`` or ``png``), after checking the size in the header against ``max_pixels``."""
        return self.size(data)[0]

    def size(self, data: bytes) -> tuple[str, int, int]:
        """The format, width and height from the header, checked against ``max_pixels``."""
        kind = next((name for magic, name in _FORMATS.items() if data.startswith(magic)), None)
        if kind is None:
            raise ValidationError(f"image.decode: the image is not JPEG or PNG (starts with {data[:8]!r})")
        width, height = _jpeg_size(data) if kind == "jpeg" else _png_size(data)
        if width * height > self.max_pixels:
            raise ValidationError(
                f"image.decode: the image is {width}×{height} = {width * height} pixels; the limit is "
                f"{self.max_pixels}. Send a smaller frame."
            )
        return kind, width, height

    def pixels(self, data: bytes, kind: str = "image", grey: bool | None = None) -> Any:
        """Decode checked bytes (``inspect`` first) → height × width × channels uint8; ``grey`` overrides
        ``channels`` (a grey decode is a third faster than colour and gives the same grey as converting after)."""
        import cv2
        import numpy as np

        grey = self.channels == 1 if grey is None else grey
        flag = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flag)  # applies EXIF orientation by default
        if pixels is None or pixels.size == 0:
            raise ValidationError(f"image.decode: the {kind} data is damaged and cannot be decoded")
        return pixels[:, :, None] if pixels.ndim == 2 else pixels

    def _bytes(self, image: Any) -> bytes:
        if isinstance(image, bytes | bytearray):
            data = bytes(image)
        elif isinstance(image, str):
            text = image.split(",", 1)[1] if image.startswith("data:") else image
            if len(text) > self.max_bytes * 4 // 3 + 4:
                raise ValidationError(f"image.decode: the image is larger than {self.max_bytes} bytes")
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError("image.decode: 'image' text is not valid base64") from None
        else:
            raise ValidationError(f"image.decode: 'image' must be bytes or base64 text, got {type(image).__name__}")
        if len(data) > self.max_bytes:
            raise ValidationError(f"image.decode: the image is {len(data)} bytes; the limit is {self.max_bytes}")
        return data


#: JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the image size
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment, walking the segments before it."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _SOF and at + 9 <= len(data):
            height, width = int.from_bytes(data[at + 5 : at + 7], "big"), int.from_bytes(data[at + 7 : at + 9], "big")
            if width and height:
                return width, height
            break
        if marker in (0xD9, 0xDA) or length < 2:  # end of image or start of scan before any frame header
            break
        at += 2 + length
    raise ValidationError("image.decode: cannot read the JPEG header (no frame size before the image data)")


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, which must come first."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ValidationError("image.decode: cannot read the PNG header (no IHDR chunk first)")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not width or not height:
        raise ValidationError(f"image.decode: the PNG header says {width}×{height} pixels")
    return width, height
