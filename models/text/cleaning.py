"""Text cleaning shared by training and inference: the ONNX graph and sklearn must see identical strings."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def clean_text(text: object, max_chars: int = 2000) -> str:
    """NFKC (full-width → half-width), drop control characters, collapse whitespace, strip, truncate.

    Whitespace is collapsed because skl2onnx pads batched strings: without it n-grams differ between paths.

    >>> clean_text("  平度市\\t南村镇\\n路灯不亮！ ")
    '平度市 南村镇 路灯不亮!'
    """
    if text is None or (isinstance(text, float) and text != text):  # None or NaN from a spreadsheet
        return ""
    normalized = unicodedata.normalize("NFKC", str(text)).translate(_CONTROL)
    return _WS.sub(" ", normalized).strip()[:max_chars]


def join_fields(*fields: object) -> str:
    """Title and body of a report as one text, the way the classifier was trained on them."""
    return clean_text(" 。".join(clean_text(f) for f in fields if clean_text(f)))
