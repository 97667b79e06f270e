"""查找教师 on the web: the rows a search shows and where each row leads, by role.

A school account opens its own teachers, and starts a transfer (调入) for a teacher in post
elsewhere or a return to post (返岗) for one who left; a county reviewer opens the review page
of a teacher in its county. Other hits are shown without a link: the backends decide what each
account may read, this only avoids links that would answer 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.web.domain.session import SessionUser


@dataclass(frozen=True)
class Action:
    label: str
    href: str


@dataclass(frozen=True)
class HitRow:
    teacher_id: str
    name: str
    school: str
    county_code: str
    status: str
    actions: tuple[Action, ...]


def status_of(hit: dict[str, Any]) -> str:
    if hit.get("has_left"):
        return "已离岗"
    return "在岗" if hit.get("in_post") else "不在本单位任职"


def actions_for(user: SessionUser, hit: dict[str, Any]) -> tuple[Action, ...]:
    tid = hit["teacher_id"]
    if user.role == "school_admin":
        if hit.get("school_code") == user.school_code and not hit.get("has_left"):
            return (Action("查看", f"/school/teachers/{tid}"),)
        if hit.get("has_left"):
            return (Action("返岗", f"/school/return-to-post?teacher_id={tid}"),)
        return (Action("调入本校", f"/school/teachers/{tid}/transfer"),)
    if user.role == "county_admin" and hit.get("in_region"):
        return (Action("审核信息", f"/review/teachers/{tid}"),)
    return ()


def rows_of(user: SessionUser, hits: list[dict[str, Any]]) -> list[HitRow]:
    return [HitRow(teacher_id=h["teacher_id"], name=h["name"],
                   school=f"{h.get('school_name', '')}（{h['school_code']}）",
                   county_code=h.get("county_code", ""), status=status_of(h),
                   actions=actions_for(user, h)) for h in hits]


def choose(hits: list[dict[str, Any]], *, has_left: bool) -> dict[str, Any] | None:
    """The hit a transfer (a teacher in post) or a return to post (one who left) is about."""
    return next((h for h in hits if bool(h.get("has_left")) is has_left), None)
