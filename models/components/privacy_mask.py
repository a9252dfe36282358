"""``privacy.mask``: personal data out of a citizen's text before it is stored, logged or sent on."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from models.components.base import Component

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"

#: (type, pattern); tried in this order, a span is taken by the first type that claims it. Every pattern runs on
#: request text, so each is linear in its length: a match can start only where its first repeated class begins
#: (the look-behinds), so no run of characters is scanned from each of its positions (tests/unit/
#: test_hostile_input.py runs each on adversarial input).
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "email",
        re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    ),
    (
        "id_card",
        re.compile(
            _NOT_DIGIT_BEFORE + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx]" + _NOT_DIGIT_AFTER
        ),
    ),
    # UnionPay 62, Visa 4, Mastercard 5, Amex/JCB 3x, Discover 60/65: 16–19 digits, often in groups of four
    (
        "bank_card",
        re.compile(
            _NOT_DIGIT_BEFORE + r"(?:62|[45]\d|3[4-7]|6[05])\d{2}(?:[ \-]?\d{4}){2}[ \-]?\d{4}"
            r"(?:[ \-]?\d{1,3})?" + _NOT_DIGIT_AFTER
        ),
    ),
    ("mobile", re.compile(_NOT_DIGIT_BEFORE + r"(?:(?:\+|00)?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}" + _NOT_DIGIT_AFTER)),
    (
        "landline",
        re.compile(
            _NOT_DIGIT_BEFORE + r"(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[ \-]?)[2-9]\d{6,7}"
            r"(?:[ \-]?(?:转|ext\.?)\d{1,5})?" + _NOT_DIGIT_AFTER
        ),
    ),
    (
        "plate",
        re.compile(
            f"[{_PROVINCES}]" + r"[A-HJ-NP-Z][ ·]?(?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]{5}|"
            r"[A-HJ-NP-Z0-9]{4}[挂学警港澳])(?![A-Za-z0-9])"
        ),
    ),
]


@dataclass(frozen=True)
class Span:
    """One piece of personal data found: its type and where it was in the original text."""

    type: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "start": self.start, "end": self.end}


def valid_id_number(number: str) -> bool:
    """GB 11643-1999: a real birth date and the ISO 7064 MOD 11-2 check character."""
    digits = number.upper()
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    if born > date.today():
        return False
    return _ID_CHECK[sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True)) % 11] == digits[17]


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    return 16 <= len(digits) <= 19 and total % 10 == 0


#: further checks a match must pass to count as that type
CHECKS: dict[str, Callable[[str], bool]] = {"id_card": valid_id_number, "bank_card": luhn_valid}
#: a long number right after these words is a reference, not a card (one in ten passes the Luhn check by chance)
_REFERENCE_WORDS = ("订单", "单号", "编号", "工单", "快递", "流水号", "发票")


def find_personal_data(text: str) -> list[Span]:
    """Every span of personal data, non-overlapping, in order."""
    taken: list[Span] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            check = CHECKS.get(kind)
            if check is not None and not check(match.group()):
                continue
            if kind == "bank_card" and any(
                w in text[max(0, match.start() - 6) : match.start()] for w in _REFERENCE_WORDS
            ):
                continue
            if not any(s.start < match.end() and match.start() < s.end for s in taken):
                taken.append(Span(kind, match.start(), match.end()))
    return sorted(taken, key=lambda s: s.start)


class PrivacyMasker(Component):
    """Masks mainland mobile and landline numbers, 18-digit resident ID numbers (birth date and check digit
    verified), bank card numbers (Luhn), e-mail addresses and licence plates. ``style``: ``partial`` keeps the
    ends a person needs to recognise the value (``138****5678``), ``full`` replaces every character with ``*``,
    ``tag`` writes the type (``[mobile]``). ``spans`` give the type and place of each in the original text.

    >>> PrivacyMasker()({"text": "我的电话13812345678，车牌鲁B12345"})["text"]
    '我的电话138****5678，车牌鲁B***45'
    """

    name = "privacy.mask"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}},
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["text", "pii"],
        "properties": {
            "text": {"type": "string"},
            "pii": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "start", "end"],
                    "properties": {
                        "type": {"type": "string"},
                        "start": {"type": "integer"},
                        "end": {"type": "integer"},
                    },
                },
            },
        },
    }

    examples: ClassVar[list[dict[str, Any]]] = [
        {"text": "我是王女士，电话13812345678，身份证11010519491231002X，车停在鲁B12345旁"},
        {"text": "请回电0532-88886666或发邮件到 zhang.san@example.com", "channel": "web"},
        {"text": "南村镇路灯不亮"},
    ]

    def __init__(self, style: str = "partial") -> None:
        self.style = style

    def load(self, registry: Any = None) -> None:
        if self.style not in ("partial", "full", "tag"):
            raise ValueError(
                f"The 'style' parameter of privacy.mask must be one of partial, full, tag. Got {self.style!r}."
            )

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        text = record["text"]
        spans = find_personal_data(text)
        pieces, last = [], 0
        for span in spans:
            pieces += [text[last : span.start], self._mask(span.type, text[span.start : span.end])]
            last = span.end
        pieces.append(text[last:])
        return {"text": "".join(pieces), "pii": [s.to_dict() for s in spans]}

    def _mask(self, kind: str, value: str) -> str:
        if self.style == "tag":
            return f"[{kind}]"
        if self.style == "full":
            return "".join("*" if c.isalnum() else c for c in value)
        if kind == "email":
            user, domain = value.split("@", 1)
            return user[:1] + "*" * (len(user) - 1) + "@" + domain
        first, last = _KEEP[kind]
        places = [i for i, c in enumerate(value) if c.isalnum()]
        if kind == "mobile":
            places = places[-11:]  # the national number, after +86 / 0086
        hidden = set(places[first : len(places) - last])
        return "".join("*" if i in hidden else c for i, c in enumerate(value))


#: characters kept at the start and the end in ``partial`` style (letters and digits only are counted)
_KEEP = {"mobile": (3, 4), "landline": (4, 2), "id_card": (6, 4), "bank_card": (4, 4), "plate": (2, 2)}
