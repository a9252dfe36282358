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


def short_text_tokens(text: object, max_chars: int = 2000) -> str:
    """Binary bag of tokens of a cleaned text, as one space-joined string: character 1–2-grams (``c``),
    rjieba words (``w``) and the 2-character prefix/suffix (``B``/``E``). Sorted and unique, so counting
    them in the ONNX graph gives the same binary features as in Python.

    >>> short_text_tokens("路灯不亮")
    'B路灯 E不亮 c不 c不亮 c亮 c灯 c灯不 c路 c路灯 w灯不亮 w路'
    """
    return _tokens(clean_text(text, max_chars))


def _tokens(cleaned: str) -> str:
    import rjieba

    cleaned = cleaned.replace(" ", "▁")
    tokens = {"c" + cleaned[i : i + n] for n in (1, 2) for i in range(len(cleaned) - n + 1)}
    tokens |= {"w" + word for word in rjieba.cut(cleaned) if word.strip("▁")}
    tokens |= {"B" + cleaned[:2], "E" + cleaned[-2:]}
    return " ".join(sorted(tokens))


def short_text_pieces(text: object, max_chars: int = 2000) -> str:
    """``short_text_tokens`` followed by the cleaned text's e5 pieces (``p`` + piece id, repeats kept, in order).

    >>> short_text_pieces("路灯不亮").split(" p")[1:]
    ['6', '3136', '36480', '562', '16955']
    """
    from knowledge_graph.e5.pieces import piece_ids

    cleaned = clean_text(text, max_chars)  # cleaned once for both: the tokens and the pieces
    return _tokens(cleaned) + "".join([" p" + str(i) for i in piece_ids(cleaned)])


#: Preprocessing by the name an exported model records in its ONNX metadata.
PREPROCESSORS = {
    "clean_text": clean_text,
    "short_text_tokens": short_text_tokens,
    "short_text_pieces": short_text_pieces,
}
