"""An event's life after triage (发现 → 处置 → 评价): the outcomes the dispatch system reports and the status each
leaves the event in. One table says which outcome a status allows; everything else follows from it.

| outcome              | 中文  | allowed when the event is                        | leaves it       |
|----------------------|-------|--------------------------------------------------|-----------------|
| ``accepted``         | 签收  | open, returned, reopened                         | accepted        |
| ``returned``         | 退单  | open, accepted, reopened                         | returned        |
| ``reassigned``       | 改派  | open, accepted, returned, reopened               | open (new dept) |
| ``category_corrected``| 改类 | any                                              | as it was       |
| ``resolved``         | 办结  | accepted, reopened                               | resolved        |
| ``closed``           | 评价  | resolved                                         | closed          |
| ``reopened``         | 重办  | resolved, closed                                 | reopened        |

The SLA clock stops at ``resolved``; the ``escalate_after`` clock at ``accepted``."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from citymind.errors import InvalidTransition, ValidationError

OutcomeType = Literal["accepted", "returned", "reassigned", "category_corrected", "resolved", "closed", "reopened"]
Status = Literal["open", "accepted", "returned", "resolved", "closed", "reopened"]

STATUSES: tuple[Status, ...] = ("open", "accepted", "returned", "resolved", "closed", "reopened")
ALLOWED: dict[Status, tuple[OutcomeType, ...]] = {
    "open": ("accepted", "returned", "reassigned", "category_corrected"),
    "accepted": ("resolved", "returned", "reassigned", "category_corrected"),
    "returned": ("reassigned", "accepted", "category_corrected"),
    "resolved": ("closed", "reopened", "category_corrected"),
    "closed": ("reopened", "category_corrected"),
    "reopened": ("accepted", "resolved", "returned", "reassigned", "category_corrected"),
}
OUTCOMES: tuple[OutcomeType, ...] = (
    "accepted", "returned", "reassigned", "category_corrected", "resolved", "closed", "reopened",
)  # fmt: skip
SATISFACTION = ("满意", "基本满意", "不满意")
#: statuses in which the SLA clock has stopped
DONE: tuple[Status, ...] = ("resolved", "closed")


class Outcome(TypedDict):
    """One outcome as the dispatch system reports it (``at``: epoch s, when it happened)."""

    outcome_id: str
    type: OutcomeType
    at: float
    department: NotRequired[str | None]  # reassigned: to whom
    category: NotRequired[str | None]  # category_corrected: to what
    reason: NotRequired[str | None]  # returned: why
    reply: NotRequired[str | None]  # resolved: the reply to the citizen
    satisfaction: NotRequired[str | None]  # closed: 满意 | 基本满意 | 不满意


def check(status: str, outcome: Outcome) -> None:
    """:class:`InvalidTransition` when ``status`` does not allow ``outcome``; :class:`ValidationError` when the
    outcome lacks what its type needs."""
    kind = outcome["type"]
    allowed = list(ALLOWED.get(status, ()))  # type: ignore[call-overload]
    if kind not in allowed:
        raise InvalidTransition(
            f"an event that is {status!r} cannot be {kind!r}; it can be: {', '.join(allowed)}", allowed=allowed
        )
    needs = {"reassigned": "department", "category_corrected": "category", "closed": "satisfaction"}.get(kind)
    if needs and not outcome.get(needs):
        raise ValidationError(f"a {kind!r} outcome needs '{needs}'")
    if kind == "closed" and outcome.get("satisfaction") not in SATISFACTION:
        raise ValidationError(
            f"satisfaction must be one of {', '.join(SATISFACTION)}; got {outcome.get('satisfaction')!r}"
        )


def apply(row: dict[str, object], outcome: Outcome) -> dict[str, object]:
    """The status columns of an event (``row``) after ``outcome`` (checked first): only those that change."""
    kind, at = outcome["type"], float(outcome["at"])
    if kind == "accepted":
        return {"status": "accepted", "accepted_at": row.get("accepted_at") or at}
    if kind == "returned":
        return {"status": "returned", "returns": int(row.get("returns") or 0) + 1}  # type: ignore[call-overload]
    if kind == "reassigned":
        reassigns = int(row.get("reassigns") or 0) + 1  # type: ignore[call-overload]
        return {"status": "open", "department": outcome.get("department"), "reassigns": reassigns}
    if kind == "category_corrected":
        return {"final_category": outcome.get("category"), "corrected": 1}
    if kind == "resolved":
        return {"status": "resolved", "resolved_at": at}
    if kind == "closed":
        return {"status": "closed", "closed_at": at, "satisfaction": outcome.get("satisfaction")}
    reopens = int(row.get("reopens") or 0) + 1  # type: ignore[call-overload]
    return {"status": "reopened", "resolved_at": None, "closed_at": None, "satisfaction": None, "reopens": reopens}
