"""A labelled corpus of citizen-report sentences with personal data in the forms people write it, and numbers that
only look like it (order numbers, dates, amounts, post codes, ID numbers with a wrong check digit). Generated
from a seed, so the precision/recall test and the benchmark measure the same thing."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_REGIONS = ["370283", "370202", "370211", "110105", "320102", "440305", "510104", "370181"]
_PROVINCES = "鲁京沪苏浙粤川豫冀"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Sentence:
    text: str
    spans: tuple[tuple[str, int, int], ...]  # (type, start, end)


def id_number(rng: random.Random, *, valid: bool = True) -> str:
    body = rng.choice(_REGIONS) + f"{rng.randint(1950, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


def bank_card(rng: random.Random) -> str:
    digits = [int(d) for d in rng.choice(["622202", "621700", "622848", "621226", "622588", "436742"])]
    digits += [rng.randint(0, 9) for _ in range(rng.choice([15, 16, 17, 18]) - len(digits))]
    total = sum(d if i % 2 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    card = "".join(map(str, digits)) + str((10 - total % 10) % 10)
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4)) if rng.random() < 0.3 else card


def mobile(rng: random.Random) -> str:
    number = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
    style = rng.random()
    if style < 0.2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style < 0.35:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style < 0.45:
        return f"+86 {number}"
    return number


def landline(rng: random.Random) -> str:
    area, local = (
        rng.choice(["0532", "0531", "010", "021", "0535"]),
        f"{rng.randint(2, 9)}{rng.randint(0, 9999999):07d}",
    )
    return rng.choice(
        [f"{area}-{local}", f"({area}){local}", f"{area}{local}", f"{area}-{local}转{rng.randint(1, 999)}"]
    )


def email(rng: random.Random) -> str:
    user = rng.choice(["zhang.san", "lisi2020", "wang_wu", "pd12345", "chen.jing88"])
    return f"{user}@{rng.choice(['163.com', 'qq.com', 'example.com.cn', 'pingdu.gov.cn'])}"


def plate(rng: random.Random) -> str:
    head = rng.choice(_PROVINCES) + rng.choice(_LETTERS)
    if rng.random() < 0.25:
        return head + rng.choice("DF") + "".join(rng.choice("0123456789") for _ in range(5))  # new energy
    return head + "".join(rng.choice(_LETTERS + "0123456789" * 3) for _ in range(5))


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "mobile": mobile,
    "landline": landline,
    "id_card": id_number,
    "bank_card": bank_card,
    "email": email,
    "plate": plate,
}
DECOYS: list[Callable[[random.Random], str]] = [
    lambda r: f"订单号{r.randint(10**17, 10**18 - 1)}",
    lambda r: f"{r.randint(2019, 2025)}年{r.randint(1, 12)}月{r.randint(1, 28)}日",
    lambda r: f"{r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:00",
    lambda r: f"拖欠工资{r.randint(1000, 99999)}元",
    lambda r: "拨打12345热线",
    lambda r: "邮编266700",
    lambda r: f"{r.randint(1, 30)}号楼{r.randint(1, 6)}单元{r.randint(101, 2802)}室",
    lambda r: f"身份证号码{id_number(r, valid=False)}（填错了）",
    lambda r: f"工单编号PD{r.randint(10**9, 10**10 - 1)}",
    lambda r: f"面积{r.randint(50, 200)}.{r.randint(0, 99)}平方米",
]
TEMPLATES = [
    "您好，我是{area}的居民，联系方式{pii}，{decoy}，小区门口垃圾一直没人清理。",
    "{decoy}。反映人{pii}，{area}路灯坏了很久。",
    "我在{area}工地干活，{decoy}，老板至今未付，请联系{pii}。",
    "{area}有车辆长期占用消防通道，{pii}，{decoy}。",
    "请尽快处理！{pii}",
]
AREAS = ["南村镇", "东阁街道", "李园街道", "古岘镇", "大泽山镇", "凤台街道"]


def corpus(size: int = 600, seed: int = 12345) -> list[Sentence]:
    rng = random.Random(seed)
    kinds = list(GENERATORS)
    out = []
    for i in range(size):
        kind = kinds[i % len(kinds)]
        value = GENERATORS[kind](rng)
        template = rng.choice(TEMPLATES)
        text = template.format(area=rng.choice(AREAS), pii="\x00", decoy=rng.choice(DECOYS)(rng))
        start = text.index("\x00")
        out.append(Sentence(text.replace("\x00", value), ((kind, start, start + len(value)),)))
    return out
