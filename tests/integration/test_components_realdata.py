"""The city components on real citizen messages (../shared/data/complaints, anonymised by the competition)."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from models.components.geo_resolve_area import AreaResolver
from models.components.privacy_mask import PrivacyMasker
from models.components.text_normalize import TextNormalizer
from tests.pii_corpus import GENERATORS
from tests.unit.test_components import unmasked

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def messages(shared_data: Path) -> list[str]:
    frame = pd.read_csv(shared_data / "complaints" / "tipdm2020_messages_labeled.csv")
    assert len(frame) == 495
    return [f"{t}。{d}" for t, d in zip(frame["留言主题"].fillna(""), frame["留言详情"].fillna(""), strict=True)]


def test_mask_finds_nothing_in_messages_without_personal_data(messages: list[str]) -> None:
    """The competition removed personal data, so every detection here would be a false positive (dates, amounts,
    room numbers, road numbers are all over these messages)."""
    masker = PrivacyMasker()
    found = [(m[:30], s) for m in messages for s in masker({"text": m})["pii"]]
    assert found == []


def test_mask_leaves_no_mobile_or_id_number_in_495_real_messages(messages: list[str]) -> None:
    """Each real message gets personal data of two kinds written into it where people write it; after masking an
    independent scan finds no 11-digit mobile number and no valid ID number, and the rest of the text is intact."""
    rng = random.Random(2020)
    masker, kinds = PrivacyMasker(), sorted(GENERATORS)
    for i, message in enumerate(messages):
        values = [GENERATORS["mobile" if i % 2 else "id_card"](rng), GENERATORS[kinds[i % len(kinds)]](rng)]
        cut = rng.randrange(len(message) + 1)
        text = f"{message[:cut]}，联系{values[0]}，{message[cut:]}（{values[1]}）"
        masked = masker({"text": text})
        assert unmasked(masked["text"]) == [], masked["text"]
        assert len(masked["pii"]) >= 2 and masked["text"].replace("*", "") != text.replace("*", "")
        kept = masked["text"]
        for span in sorted(masked["pii"], key=lambda s: -s["start"]):
            kept = kept[: span["start"]] + kept[span["end"] :]
            text = text[: span["start"]] + text[span["end"] :]
        assert kept == text  # only the personal data changed


def test_normalize_cleans_real_messages(messages: list[str]) -> None:
    normalize = TextNormalizer()
    for message in messages:
        clean = normalize({"text": message})["text"]
        assert clean == clean.strip() and "\t" not in clean and "\n" not in clean and "  " not in clean
        assert normalize({"text": clean})["text"] == clean  # idempotent


def test_resolve_area_stays_quiet_on_another_city(messages: list[str]) -> None:
    """These messages are from "A市", not Pingdu: an area found in them would be a false alarm; the few that name
    a Pingdu-like place must point at the text that names it."""
    resolver = AreaResolver()
    found = [out for m in messages if (out := resolver({"text": m}))["area"] is not None]
    assert len(found) <= 5, [(f["area"]["label"], f["area_match"]) for f in found]
    for out in found:
        match = out["area_match"]
        assert out["text"][match["start"] : match["end"]] == match["text"]
