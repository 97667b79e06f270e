"""Chasing the laggards (催报): a collection round's deadlines and targets, which cities,
counties and schools lag behind them, and the rules of the reminders sent to them.

A unit lags when its staff entry rate (system staff / annual report) is below the round's
entry target, or its review rate (records through review / records entered) is below the
review target. A unit without an annual figure has no entry rate: it lags only on review.

Reminders go down the hierarchy inside the sender's region: the province to any city, county
or school; a city to its counties and schools; a county to its schools. A reminder is read by
the administrators of the unit it was sent to, and the first reading is what counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reporting.domain.counting import notice_percent, rate
from shared.auth import Principal, Region, Role
from shared.contracts.events import (
    CollectionRoundOpened,
    LaggardNoticeRead,
    LaggardNoticeSent,
    UnitLevel,
)
from shared.errors import Forbidden, Problem, ValidationProblem

# The level a role administers; a sender may remind only levels below its own.
_ROLE_LEVEL = {Role.PROVINCE_ADMIN: 0, Role.SERVICE: 0, Role.CITY_ADMIN: 1,
               Role.COUNTY_ADMIN: 2, Role.SCHOOL_ADMIN: 3}
_UNIT_LEVEL = {"city": 1, "county": 2, "school": 3}
MAX_MESSAGE = 500


@dataclass(frozen=True)
class Round:
    round_id: str
    title: str
    entry_due: date
    report_due: date
    entry_target: float = 1.0
    review_target: float = 1.0


@dataclass(frozen=True)
class Unit:
    """A city, county or school with the figures a reminder is sent for."""

    level: UnitLevel
    code: str
    name: str
    city_code: str | None
    county_code: str | None
    staff_annual: int | None
    staff_entered: int
    reviewed: int

    @property
    def staff_rate(self) -> float | None:
        return rate(self.staff_entered, self.staff_annual)

    @property
    def review_rate(self) -> float | None:
        return rate(self.reviewed, self.staff_entered)

    @property
    def region(self) -> Region:
        return Region(school_code=self.code if self.level == "school" else None,
                      county_code=self.county_code, city_code=self.city_code)


@dataclass(frozen=True)
class Laggard:
    unit: Unit
    reasons: tuple[str, ...]  # Chinese, for the page and the reminder


def open_round(*, round_id: str, title: str, entry_due: date, report_due: date,
               entry_target: float = 1.0, review_target: float = 1.0) -> CollectionRoundOpened:
    problems: list[Problem] = []
    if not title.strip():
        problems.append(Problem("title", "name the round (例如 2017 年教师信息采集)"))
    if report_due < entry_due:
        problems.append(Problem("report_due", "the report deadline cannot come before the "
                                              "entry deadline (上报截止日期不能早于录入截止日期)"))
    for key, value in (("entry_target", entry_target), ("review_target", review_target)):
        if not 0 < value <= 1:
            problems.append(Problem(key, "a rate above 0 and at most 1 (目标比例应在 0 到 1 之间)"))
    if problems:
        raise ValidationProblem(problems)
    return CollectionRoundOpened(round_id=round_id, title=title.strip(), entry_due=entry_due,
                                 report_due=report_due, entry_target=entry_target,
                                 review_target=review_target)


def units_of(level: UnitLevel, rows: Iterable[Mapping[str, Any]],
             city_of_county: Mapping[str, str]) -> list[Unit]:
    """Units from the rows of the region tables (services.reporting.domain.regions)."""
    out = []
    for r in rows:
        if level == "school" and not r.get("open", True):
            continue
        county = r.get("county_code") if level != "city" else None
        city = r["city_code"] if level == "city" else r.get("city_code") or \
            city_of_county.get(county or "")
        out.append(Unit(level, r[f"{level}_code"], r.get(f"{level}_name") or r[f"{level}_code"],
                        city, county, r.get("staff_annual"), r.get("staff_entered") or 0,
                        r.get("review_complete") or 0))
    return out


def laggards(units: Iterable[Unit], round_: Round) -> list[Laggard]:
    """The units behind the round's targets, the furthest behind first."""
    found = []
    for u in units:
        reasons = []
        if u.staff_rate is not None and u.staff_rate < round_.entry_target:
            reasons.append(f"教职工录入率 {notice_percent(u.staff_entered, u.staff_annual)}，"
                           f"低于目标 {round_.entry_target:.0%}")
        if u.staff_entered == 0 and u.staff_annual is None:
            reasons.append("尚未录入教职工")
        elif u.review_rate is not None and u.review_rate < round_.review_target:
            reasons.append(f"审核完成率 {notice_percent(u.reviewed, u.staff_entered)}，"
                           f"低于目标 {round_.review_target:.0%}")
        if reasons:
            found.append(Laggard(u, tuple(reasons)))
    return sorted(found, key=lambda lag: (
        lag.unit.staff_rate if lag.unit.staff_rate is not None else -1.0,
        lag.unit.review_rate if lag.unit.review_rate is not None else -1.0, lag.unit.code))


def default_message(unit: Unit, reasons: Iterable[str], round_: Round | None) -> str:
    due = (f"请于 {round_.entry_due.month} 月 {round_.entry_due.day} 日前完成录入和确认，"
           f"{round_.report_due.month} 月 {round_.report_due.day} 日前完成审核上报。"
           if round_ else "请尽快完成录入和审核。")
    return f"{unit.name}：{'；'.join(reasons) or '数据采集进度滞后'}。{due}"


def may_remind(sender: Principal, unit: Unit) -> None:
    """Forbidden unless `unit` is below the sender's level and inside its region."""
    own = _ROLE_LEVEL.get(sender.role)
    if own is None or not sender.can_write:
        raise Forbidden("reminders are sent by province, city and county administrators "
                        "(催报通知由省、市、县管理员发送)")
    if _UNIT_LEVEL[unit.level] <= own:
        raise Forbidden(f"a {sender.role} reminds the levels below its own, not a "
                        f"{unit.level} (只能向下级单位发送催报通知)")
    sender.require(unit.region, write=True)


def send_notice(sender: Principal, unit: Unit, *, notice_id: str, message: str,
                round_: Round | None, reasons: Iterable[str] = ()) -> LaggardNoticeSent:
    """The reminder; an empty message becomes the default one, naming `reasons`."""
    may_remind(sender, unit)
    text = message.strip()
    if len(text) > MAX_MESSAGE:
        raise ValidationProblem([Problem("message", f"at most {MAX_MESSAGE} characters "
                                                    f"(通知内容不超过 {MAX_MESSAGE} 字)")])
    return LaggardNoticeSent(
        notice_id=notice_id, round_id=round_.round_id if round_ else None, level=unit.level,
        unit_code=unit.code, unit_name=unit.name, city_code=unit.city_code,
        county_code=unit.county_code, message=text or default_message(unit, reasons, round_),
        staff_rate=unit.staff_rate, review_rate=unit.review_rate)


def own_unit(principal: Principal) -> tuple[UnitLevel, str] | None:
    """The unit whose reminders `principal` receives: an administrator's own city, county or
    school (the province and read-only accounts receive none)."""
    if principal.role is Role.SCHOOL_ADMIN and principal.school_code:
        return "school", principal.school_code
    if principal.role is Role.COUNTY_ADMIN and principal.county_code:
        return "county", principal.county_code
    if principal.role is Role.CITY_ADMIN and principal.city_code:
        return "city", principal.city_code
    return None


def read_notice(principal: Principal, *, notice_id: str, level: UnitLevel, unit_code: str,
                already_read: bool) -> LaggardNoticeRead | None:
    """The reading to record, or None when it was read before (the first reading counts)."""
    if own_unit(principal) != (level, unit_code):
        raise Forbidden("only the administrators of the unit it was sent to mark a reminder "
                        "read (仅收件单位管理员可标记已读)")
    if already_read:
        return None
    return LaggardNoticeRead(notice_id=notice_id, level=level, unit_code=unit_code)
