"""``text.normalize``: one clean form of a citizen's text before anything reads it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, ClassVar

from models.components.base import Component

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")
#: whitespace around line breaks, from the start of its run only (``\\s*\\n\\s*`` would rescan a long run of spaces
#: from each of its positions: quadratic in the run)
_BLANK_LINES = re.compile(r"(?<![^\S\n])[^\S\n]*\n\s*")
_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": ["string", "null"]}}}


class TextNormalizer(Component):
    """Full-width → half-width (NFKC: ``ＡＢＣ１２３！`` → ``ABC123!``), control and zero-width characters
    removed, runs of spaces (full-width ``\\u3000`` included) collapsed, traditional → simplified Chinese with
    OpenCC (``t2s``), optionally newlines kept as one ``\\n`` and the text cut to ``max_chars``.

    >>> TextNormalizer()({"text": " 東閣街道\\u3000路燈不亮！！\\r\\n\\t請盡快處理\\u200b"})["text"]
    '东阁街道 路灯不亮!! 请尽快处理'
    """

    name = "text.normalize"
    input_schema: ClassVar[dict[str, Any]] = _TEXT
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}},
    }

    examples: ClassVar[list[dict[str, Any]]] = [
        {"text": "東閣街道\u3000路燈不亮！！\r\n請盡快處理"},
        {"text": "ＡＢＣ小区　门口　垃圾\t堆放", "id": 7},
        {"text": None},
    ]

    def __init__(self, simplify: bool = True, keep_newlines: bool = False, max_chars: int = 5000) -> None:
        self.simplify = simplify
        self.keep_newlines = keep_newlines
        self.max_chars = max_chars

    def load(self, registry: Any = None) -> None:
        if self.simplify:
            import opencc

            self._converter = opencc.OpenCC("t2s")

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {"text": self.normalize(record.get("text"))}

    def normalize(self, text: str | None) -> str:
        if not text:
            return ""
        out = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
        out = _CONTROL.sub("", out)
        if self.simplify:
            out = self._converter.convert(out)
        out = _SPACES.sub(" ", out)
        out = _BLANK_LINES.sub("\n" if self.keep_newlines else " ", out).strip()
        return out[: self.max_chars]
