"""Chasing handlers (催报): each loads what it needs, makes one domain call, appends or answers.

    open_round     the province opens a collection round -> CollectionRoundOpened
    find_laggards  the units of a level behind the round's targets, inside the caller's region
    send_notices   reminders to some of them, all or none -> LaggardNoticeSent (one per unit)
    sent_notices   what was sent inside the caller's region, when, and whether it was read
    my_notices     the reminders addressed to the caller's own unit (the home-page banner)
    read_notice    the unit's administrator opened one -> LaggardNoticeRead (the first counts)

Rates are always taken from the current report, never from the request: a reminder says what
the system held when it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import uuid4

from services.reporting.adapters.chasing_queries import ChasingQueries
from services.reporting.domain import chasing
from services.reporting.domain.reports import ReportRequest
from services.reporting.domain.scope import scope_for
from services.reporting.service_layer.handlers import Deps, build
from shared.auth import Principal, Role
from shared.contracts.base import EventPayload
from shared.contracts.events import UnitLevel
from shared.domain.divisions import divisions
from shared.errors import Forbidden, NotFound, Problem, ValidationProblem
from shared.eventstore.store import Metadata, UnitOfWork

_REPORT_OF = {"city": "cities", "county": "counties", "school": "schools"}
# A round without deadlines: what the laggards page measures against before one is opened.
_NO_ROUND = chasing.Round("", "", date.min, date.min)


@dataclass(frozen=True)
class ChasingDeps:
    reporting: Deps
    queries: ChasingQueries


async def open_round(deps: ChasingDeps, principal: Principal, *, title: str, entry_due: date,
                     report_due: date, entry_target: float, review_target: float
                     ) -> dict[str, Any]:
    if not (principal.province_wide and principal.can_write):
        raise Forbidden("the province opens a collection round (采集轮次由省级管理员设置)")
    event = chasing.open_round(round_id=uuid4().hex, title=title, entry_due=entry_due,
                               report_due=report_due, entry_target=entry_target,
                               review_target=review_target)
    await _append(deps, principal, [(f"round-{event.round_id}", event)])
    return event.model_dump(mode="json")


async def rounds(deps: ChasingDeps) -> list[dict[str, Any]]:
    async with deps.reporting.pool.acquire() as conn:
        return await deps.queries.rounds(conn)


async def _round(deps: ChasingDeps, round_id: str | None) -> chasing.Round | None:
    async with deps.reporting.pool.acquire() as conn:
        found = await deps.queries.round(conn, round_id)
    if round_id and found is None:
        raise NotFound(f"no collection round {round_id}")
    return found


async def _units(deps: ChasingDeps, principal: Principal, level: UnitLevel,
                 city: str | None, county: str | None) -> list[chasing.Unit]:
    city_of = {c.code: c.city_code for c in divisions().counties.values()}
    scope = scope_for(principal, city=city, county=county, city_of_county=city_of)
    report = await build(deps.reporting, ReportRequest(_REPORT_OF[level], scope), None)
    return chasing.units_of(level, report.table(_REPORT_OF[level]).rows, city_of)


async def find_laggards(deps: ChasingDeps, principal: Principal, *, level: UnitLevel,
                        round_id: str | None, city: str | None, county: str | None
                        ) -> dict[str, Any]:
    if principal.role is Role.TEACHER:
        raise Forbidden("teachers read only their own record")
    round_ = await _round(deps, round_id)
    units = await _units(deps, principal, level, city, county)
    found = chasing.laggards(units, round_ or _NO_ROUND)
    async with deps.reporting.pool.acquire() as conn:
        sent = await deps.queries.per_unit(conn, level, round_.round_id if round_ else None)
    return {
        "round": _round_view(round_, date.today()), "level": level, "units": len(units),
        "laggards": [{**_unit_view(lag.unit), "reasons": list(lag.reasons),
                      **_sent_view(sent.get(lag.unit.code, {}))} for lag in found],
    }


def _sent_view(sent: dict[str, Any]) -> dict[str, Any]:
    return {"notices_sent": int(sent.get("sent", 0)), "last_sent_at": sent.get("last_sent_at"),
            "last_read_at": sent.get("last_read_at")}


async def send_notices(deps: ChasingDeps, principal: Principal, *, level: UnitLevel,
                       unit_codes: Sequence[str], message: str, round_id: str | None
                       ) -> dict[str, Any]:
    """One reminder per unit, in one transaction: an unknown unit, or one the caller may not
    remind, refuses the whole request and nothing is sent."""
    if not unit_codes:
        raise ValidationProblem([Problem("unit_codes", "name at least one unit (请选择单位)")])
    round_ = await _round(deps, round_id)
    units = {u.code: u for u in await _units(deps, principal, level, None, None)}
    missing = [c for c in dict.fromkeys(unit_codes) if c not in units]
    if missing:
        raise ValidationProblem([Problem(f"unit_codes[{list(unit_codes).index(c)}]",
                                         f"no {level} {c} in your region (不在本辖区内)")
                                 for c in missing])
    found = {lag.unit.code: lag for lag in chasing.laggards(units.values(), round_ or _NO_ROUND)}
    events = []
    for code in dict.fromkeys(unit_codes):
        event = chasing.send_notice(principal, units[code], notice_id=uuid4().hex,
                                    message=message, round_=round_,
                                    reasons=found[code].reasons if code in found else ())
        events.append((f"notice-{event.notice_id}", event))
    await _append(deps, principal, events)
    return {"sent": len(events), "notices": [e.model_dump(mode="json") for _, e in events]}


async def sent_notices(deps: ChasingDeps, principal: Principal, *, round_id: str | None,
                       limit: int) -> list[dict[str, Any]]:
    if principal.role is Role.TEACHER or principal.school_code:
        raise Forbidden("reminders sent are read by counties, cities and the province")
    async with deps.reporting.pool.acquire() as conn:
        return await deps.queries.sent(
            conn, city_code=None if principal.province_wide else principal.city_code,
            county_code=None if principal.province_wide else principal.county_code,
            round_id=round_id, limit=limit)


async def my_notices(deps: ChasingDeps, principal: Principal, *, unread_only: bool,
                     limit: int) -> list[dict[str, Any]]:
    own = chasing.own_unit(principal)
    if own is None:
        return []  # the province and read-only accounts receive no reminders
    async with deps.reporting.pool.acquire() as conn:
        return await deps.queries.to_unit(conn, *own, unread_only=unread_only, limit=limit)


async def read_notice(deps: ChasingDeps, principal: Principal, notice_id: str
                      ) -> dict[str, Any]:
    async with deps.reporting.pool.acquire() as conn:
        notice = await deps.queries.notice(conn, notice_id)
    if notice is None:
        raise NotFound(f"no reminder {notice_id}")
    event = chasing.read_notice(principal, notice_id=notice_id, level=notice["level"],
                                unit_code=notice["unit_code"],
                                already_read=notice["read_at"] is not None)
    if event is not None:
        await _append(deps, principal, [(f"notice-{notice_id}", event)])
    return {"notice_id": notice_id, "read": True, "first_reading": event is not None}


async def _append(deps: ChasingDeps, principal: Principal,
                  events: Sequence[tuple[str, EventPayload]]) -> None:
    async with UnitOfWork(deps.reporting.pool) as uow:
        for stream, event in events:
            await deps.reporting.store.append(uow.conn, stream, None, [event],
                                              Metadata(actor=principal.subject))


def _round_view(round_: chasing.Round | None, today: date) -> dict[str, Any] | None:
    if round_ is None:
        return None
    return {"round_id": round_.round_id, "title": round_.title,
            "entry_due": round_.entry_due.isoformat(),
            "report_due": round_.report_due.isoformat(),
            "entry_target": round_.entry_target, "review_target": round_.review_target,
            "days_to_entry_due": (round_.entry_due - today).days,
            "days_to_report_due": (round_.report_due - today).days}


def _unit_view(u: chasing.Unit) -> dict[str, Any]:
    return {"level": u.level, "code": u.code, "name": u.name, "city_code": u.city_code,
            "county_code": u.county_code, "staff_annual": u.staff_annual,
            "staff_entered": u.staff_entered, "staff_rate": u.staff_rate,
            "reviewed": u.reviewed, "review_rate": u.review_rate}
