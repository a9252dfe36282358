"""What a classifier's training data looked like, kept on its model version as tags: how many rows each class had
(``citymind.class_support``) and how confident its held-out predictions were (``citymind.confidence_hist``,
counts in fixed bins). Training writes them; drift (``events.drift``) compares recent events against them.

>>> tags = profile_tags(["市容环境", "市容环境", "供暖"], confidence_counts([0.95, 0.42, 0.88]))
>>> read_profile(tags).class_support
{'供暖': 1, '市容环境': 2}
>>> read_profile(tags).confidence[5:]
[0, 0, 0, 1, 1]
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CLASS_SUPPORT_TAG = "citymind.class_support"
CONFIDENCE_TAG = "citymind.confidence_hist"
#: the confidence bins: [0, 0.1), [0.1, 0.2) ... [0.9, 1.0]
CONFIDENCE_EDGES = tuple(round(k / 10, 1) for k in range(11))


@dataclass(frozen=True)
class TrainingProfile:
    """Rows per class (None: not kept) and held-out predictions per confidence bin of ``CONFIDENCE_EDGES``."""

    class_support: dict[str, int] | None
    confidence: list[int] | None


def confidence_bin(value: float) -> int:
    """The bin of one confidence (values outside [0, 1] go to the end bins)."""
    return min(len(CONFIDENCE_EDGES) - 2, max(0, math.floor(value * 10 + 1e-9)))


def confidence_counts(values: Iterable[float]) -> list[int]:
    counts = [0] * (len(CONFIDENCE_EDGES) - 1)
    for value in values:
        if not math.isnan(value):
            counts[confidence_bin(value)] += 1
    return counts


def profile_tags(labels: Iterable[str], counts: list[int] | None = None) -> dict[str, str]:
    """The model version's tags of its training data: class support and, given, held-out predictions per
    confidence bin (``confidence_counts``)."""
    support = dict(sorted(Counter(str(label) for label in labels).items()))
    tags = {CLASS_SUPPORT_TAG: json.dumps(support, ensure_ascii=False)}
    if counts and sum(counts):
        tags[CONFIDENCE_TAG] = json.dumps({"edges": list(CONFIDENCE_EDGES), "counts": counts})
    return tags


def read_profile(tags: Mapping[str, str]) -> TrainingProfile:
    """The profile a model version's tags keep (parts it lacks, or that do not parse, are None)."""
    support, confidence = None, None
    with contextlib.suppress(KeyError, ValueError, TypeError, AttributeError):
        support = {str(k): int(v) for k, v in json.loads(tags[CLASS_SUPPORT_TAG]).items()}
    with contextlib.suppress(KeyError, ValueError, TypeError):
        hist = json.loads(tags[CONFIDENCE_TAG])
        if [float(e) for e in hist["edges"]] == list(CONFIDENCE_EDGES):
            confidence = [int(c) for c in hist["counts"]]
    return TrainingProfile(support or None, confidence)
