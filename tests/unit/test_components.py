"""What each city component does, on cases a city service meets."""

from __future__ import annotations

import base64
import io
import re

import cv2
import numpy as np
import pytest

from models.components.geo_resolve_area import AreaResolver
from models.components.image_decode import ImageDecoder
from models.components.privacy_mask import PrivacyMasker, valid_id_number
from models.components.series_resample import SeriesResampler
from models.components.text_normalize import TextNormalizer
from registry import ValidationError
from tests.pii_corpus import corpus, id_number

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def unmasked(text: str) -> list[str]:
    """An independent scan: 11-digit mobile numbers (separators removed) and valid 18-digit ID numbers."""
    squeezed = re.sub(r"(?<=\d)[ \-](?=\d)", "", text)
    return MOBILE.findall(squeezed) + [m for m in ID_LIKE.findall(text) if valid_id_number(m)]


def per_type_scores(masker: PrivacyMasker) -> dict[str, tuple[float, float]]:
    hits: dict[str, list[int]] = {}
    for sentence in corpus():
        found = {(s["type"], s["start"], s["end"]) for s in masker({"text": sentence.text})["pii"]}
        for kind, start, end in sentence.spans:
            row = hits.setdefault(kind, [0, 0, 0])  # true positives, expected, predicted
            row[0] += (kind, start, end) in found
            row[1] += 1
        for kind, _, _ in found:
            hits.setdefault(kind, [0, 0, 0])[2] += 1
    return {k: (tp / max(pred, 1), tp / max(exp, 1)) for k, (tp, exp, pred) in hits.items()}


def test_privacy_mask_precision_and_recall_per_type() -> None:
    scores = per_type_scores(PrivacyMasker())
    assert set(scores) == {"mobile", "landline", "id_card", "bank_card", "email", "plate"}
    for kind, (precision, recall) in scores.items():
        assert precision >= 0.97 and recall >= 0.97, (kind, precision, recall)


def test_privacy_mask_leaves_nothing_a_scanner_finds_and_keeps_the_rest() -> None:
    masker = PrivacyMasker()
    for sentence in corpus(200, seed=7):
        masked = masker({"text": sentence.text})["text"]
        assert unmasked(masked) == [], masked
        assert len(masked) == len(sentence.text)  # partial style keeps positions
    assert masker({"text": "拨打12345热线，2023年12月1日，拖欠工资3000元"})["pii"] == []


def test_privacy_mask_styles_and_id_checks() -> None:
    text = "身份证" + id_number(__import__("random").Random(1)) + "，手机+86 139 1234 5678"
    assert PrivacyMasker(style="tag")({"text": text})["text"] == "身份证[id_card]，手机[mobile]"
    assert re.fullmatch(
        r"身份证\*{18}，手机\+\*\* \*{3} \*{4} \*{4}", PrivacyMasker(style="full")({"text": text})["text"]
    )
    assert PrivacyMasker()({"text": text})["text"].endswith("手机+86 139 **** 5678")
    assert valid_id_number("11010519491231002X") and not valid_id_number("110105194912310021")
    assert not valid_id_number("110105194913310028")  # month 13
    with pytest.raises(ValueError, match="must be one of partial, full, tag"):
        PrivacyMasker(style="blur")({"text": "x"})


def test_text_normalize() -> None:
    normalize = TextNormalizer()
    assert normalize({"text": "ＡＢＣ１２３！　東閣街道\x07"})["text"] == "ABC123! 东阁街道"
    assert normalize({"text": "第一行\r\n\r\n  第二行"})["text"] == "第一行 第二行"
    assert TextNormalizer(keep_newlines=True)({"text": "第一行\r\n\r\n  第二行"})["text"] == "第一行\n第二行"
    assert TextNormalizer(simplify=False)({"text": "東閣"})["text"] == "東閣"
    assert TextNormalizer(max_chars=3)({"text": "一二三四五"})["text"] == "一二三"


@pytest.mark.parametrize(
    ("text", "label", "mention", "method"),
    [
        ("南村镇政府门口的路灯坏了", "南村镇", "南村镇政府", "exact"),
        ("东阁街办附近夜里施工噪音扰民", "东阁街道", "东阁街办", "exact"),
        ("家住大泽山，葡萄园旁边有人倒垃圾", "大泽山镇", "大泽山", "exact"),
        ("崔家及镇有人焚烧秸秆", "崔家集镇", "崔家及镇", "fuzzy"),
        ("青山镇的光明村路灯坏了", None, None, None),  # neither 云山镇 (one character off) nor 明村镇
        ("F5县新河乡小孩被学校劝退", None, None, None),  # another county's township
        ("白沙河街道和李园交界处积水", "白沙河街道", "白沙河街道", "exact"),
    ],
)
def test_resolve_area(text: str, label: str | None, mention: str | None, method: str | None) -> None:
    out = AreaResolver()({"text": text})
    if label is None:
        assert out["area"] is None and out["area_match"] is None
        return
    assert out["area"]["label"] == label and out["area"]["parent"] == "area:370283"
    assert (out["area_match"]["text"], out["area_match"]["method"]) == (mention, method)
    assert text[out["area_match"]["start"] : out["area_match"]["end"]] == mention


def test_resolve_area_finds_nothing_when_nothing_is_named() -> None:
    assert AreaResolver()({"text": "不知道该找哪个部门"}) == {
        "text": "不知道该找哪个部门",
        "area": None,
        "area_match": None,
    }


def _jpeg_with_orientation(orientation: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_image_decode_applies_exif_orientation_and_limits() -> None:
    decode = ImageDecoder()
    upright = decode({"image": _jpeg_with_orientation(1)})
    turned = decode({"image": base64.b64encode(_jpeg_with_orientation(6)).decode()})
    assert (upright["width"], upright["height"]) == (40, 20) and (turned["width"], turned["height"]) == (20, 40)
    assert upright["pixels"].dtype == np.uint8 and upright["pixels"].shape == (20, 40, 3)
    grey = ImageDecoder(channels=1)({"image": "data:image/png;base64," + ImageDecoder.examples[0]["image"]})
    assert grey["pixels"].shape == (3, 4, 1) and grey["format"] == "png"
    with pytest.raises(ValidationError, match="is 40×20 = 800 pixels; the limit is 500"):
        ImageDecoder(max_pixels=500)({"image": _jpeg_with_orientation(1)})
    assert decode.pixels(_jpeg_with_orientation(6), grey=True).shape == (40, 20, 1)  # one channel, turned too
    scene = np.dstack([*np.meshgrid(np.arange(48), np.arange(32)), np.full((32, 48), 7)]).astype(np.uint8) * 5
    cv2.circle(scene, (20, 16), 9, (30, 200, 90), -1)
    jpeg = cv2.imencode(".jpg", scene)[1].tobytes()
    grey, colour = decode.pixels(jpeg, grey=True), decode.pixels(jpeg)  # a grey decode: the same grey
    assert np.abs(grey[:, :, 0].astype(int) - cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)).max() <= 1
    with pytest.raises(ValidationError, match="not JPEG or PNG"):
        decode({"image": b"GIF89a...."})
    with pytest.raises(ValidationError, match="not valid base64"):
        decode({"image": "这不是图片"})


@pytest.mark.parametrize(
    ("mode", "options"),
    [("RGB", {}), ("RGB", {"progressive": True}), ("L", {"optimize": True}), ("CMYK", {}), ("RGB", {"quality": 5})],
)
def test_image_header_sizes_match_pillow(mode: str, options: dict) -> None:
    """The header is read without decoding (a size check before any pixel is made): same size as Pillow says, for
    each kind of JPEG and for PNG; a cut header or body is a 4xx-style error, never a crash."""
    from PIL import Image

    image = Image.new(mode, (321, 177))
    for ext, save in (("JPEG", options), ("PNG", {})):
        if ext == "PNG" and mode == "CMYK":
            continue
        buffer = io.BytesIO()
        image.save(buffer, ext, **save)
        data = buffer.getvalue()
        decoder = ImageDecoder(max_pixels=321 * 177)
        assert decoder.inspect(data) == ext.lower()
        assert decoder.process({"image": data})["width"] == Image.open(io.BytesIO(data)).size[0] == 321
        with pytest.raises(ValidationError, match="321×177 = 56817 pixels"):
            ImageDecoder(max_pixels=321 * 177 - 1).inspect(data)
        with pytest.raises(ValidationError, match=r"cannot read the (JPEG|PNG) header"):
            decoder.inspect(data[:20])
        with pytest.raises(ValidationError, match="damaged"):
            decoder.pixels(data[: len(data) // 3] if ext == "PNG" else data[: -len(data) // 2] + b"\x00" * 9)


def test_series_resample_fills_short_gaps_and_reports_long_ones() -> None:
    points = [{"t": f"2024-05-01T{h:02d}:20", "value": float(h)} for h in (0, 1, 3, 9, 10)]
    points.append({"t": "2024-05-01T10:40", "value": 12.0})  # two readings in one hour: their mean
    out = SeriesResampler(max_gap=2)({"series": points})
    values = {p["t"][11:13]: (p["value"], p["filled"]) for p in out["series"]}
    assert values["02"] == (2.0, True) and values["10"] == (11.0, False)
    assert all(values[h] == (None, False) for h in ("04", "05", "06", "07", "08"))
    assert out["gaps"] == [{"start": "2024-05-01T04:00:00", "end": "2024-05-01T08:00:00", "buckets": 5}]
    with pytest.raises(ValidationError, match="cannot be read"):
        SeriesResampler()({"series": [{"t": "yesterday-ish", "value": 1}]})
