"""``image.decode``: a camera frame as bytes (or base64 text) → a pixel array, within limits."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from typing import Any, ClassVar

from registry import ValidationError
from registry.component import Component, ComponentTags

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
    upright. ``channels`` is 3 (colour) or 1 (grey)."""

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

    def __init__(self, max_pixels: int = 4096 * 4096, channels: int = 3, max_bytes: int = 20 * 1024 * 1024) -> None:
        self.max_pixels = max_pixels
        self.channels = channels
        self.max_bytes = max_bytes

    def setup(self, registry: Any = None) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"The 'channels' parameter of image.decode must be 1 or 3. Got {self.channels!r}.")

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        import cv2
        import numpy as np

        data = self._bytes(record["image"])
        kind = next((name for magic, name in _FORMATS.items() if data.startswith(magic)), None)
        if kind is None:
            raise ValidationError(f"image.decode: the image is not JPEG or PNG (starts with {data[:8]!r})")
        width, height = self._size(data)
        if width * height > self.max_pixels:
            raise ValidationError(
                f"image.decode: the image is {width}×{height} = {width * height} pixels; the limit is "
                f"{self.max_pixels}. Send a smaller frame."
            )
        flag = cv2.IMREAD_COLOR if self.channels == 3 else cv2.IMREAD_GRAYSCALE
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flag)  # applies EXIF orientation by default
        if pixels is None:
            raise ValidationError(f"image.decode: the {kind} data is damaged and cannot be decoded")
        if pixels.ndim == 2 and self.channels == 1:
            pixels = pixels[:, :, None]
        return {"pixels": pixels, "width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "format": kind}

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

    @staticmethod
    def _size(data: bytes) -> tuple[int, int]:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as header:  # reads the header only
                return header.size
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise ValidationError(f"image.decode: cannot read the image header: {exc}") from None
