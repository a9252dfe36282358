"""Champion/challenger, as both trainings (the event classifier's and the forecaster's) decide it."""

from __future__ import annotations

from collections.abc import Mapping

#: the tag of bootstrap's sample models, trained on generated data: placeholders, not champions to beat
SAMPLE_TAG = "sample"
REPLACES_SAMPLE = "the champion is bootstrap's sample, trained on generated data: any trained model replaces it"


def is_sample(tags: Mapping[str, str]) -> bool:
    return tags.get(SAMPLE_TAG) == "true"


def beats(challenger: float, champion: float, *, lower_is_better: bool = False) -> bool:
    """Compared at the 4 places scores are stored with in the versions' tags: a tie keeps the champion."""
    ours, theirs = round(challenger, 4), round(champion, 4)
    return ours < theirs if lower_is_better else ours > theirs
