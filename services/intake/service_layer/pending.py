"""What is waiting for an administrator: GET /v1/me/pending.

A successor after a handover (or anyone signing in) sees the work of their role and region,
from where it lives: review's queue and reporting's confirmation tables over their HTTP APIs
(services talk over HTTP, never each other's tables), teachers' open flags and locked accounts
from intake's own store. A peer that does not answer is reported as unavailable; the rest of
the answer still comes.

    school_admin      records rejected by a reviewer (to fix), records awaiting the school's
                      own review, the school's confirmation table if not signed, open flags
    county_admin      the county review queue (count and oldest), schools with unsigned
                      confirmation tables, open flags
    city / province   records awaiting county review in the region, unsigned confirmation
    admin             tables, open flags
    *_sysadmin        accounts of the region whose sign-in is locked now
    query             nothing to do (reads only)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from services.intake.domain.accounts import Level, Unit
from services.intake.service_layer.account_ports import AccountStore
from services.intake.service_layer.accounts import manager_of
from shared.auth import Principal, Role

UNAVAILABLE = "unavailable"


class Peers(Protocol):
    """Review's queue and reporting's confirmation report; None when the peer is down."""

    async def review_queue(self, params: dict[str, str]) -> dict[str, Any] | None: ...
    async def confirmation(self, params: dict[str, str]) -> dict[str, Any] | None: ...


def region_params(unit: Unit, school_key: str, county_key: str,
                  city_key: str) -> dict[str, str]:
    if unit.level is Level.SCHOOL and unit.school_code:
        return {school_key: unit.school_code}
    if unit.level is Level.COUNTY and unit.county_code:
        return {county_key: unit.county_code}
    if unit.level is Level.CITY and unit.city_code:
        return {city_key: unit.city_code}
    return {}


async def _queue(peers: Peers, unit: Unit, status: str) -> dict[str, Any]:
    params = {**region_params(unit, "school_code", "county_code", "city_code"),
              "status": status, "limit": "1"}
    body = await peers.review_queue(params)
    if body is None:
        return {"status": UNAVAILABLE, "source": "review"}
    items = body.get("items") or []
    oldest = items[0] if items else None
    return {"status": "ok", "count": int(body.get("total", len(items))),
            "oldest": ({k: oldest.get(k) for k in ("teacher_id", "name", "school_code", "kind",
                                                  "submitted_at", "rejected")}
                       if oldest else None)}


async def _confirmations(peers: Peers, unit: Unit) -> dict[str, Any]:
    body = await peers.confirmation(region_params(unit, "school", "county", "city"))
    if body is None:
        return {"status": UNAVAILABLE, "source": "reporting"}
    rows: list[dict[str, Any]] = []
    for table in body.get("tables") or []:
        if table.get("name") == "confirmation_schools":
            rows = list(table.get("rows") or [])
    unsigned = [r for r in rows if r.get("status") != "signed"]
    return {"status": "ok", "unsigned": len(unsigned),
            "schools": [{"school_code": r.get("school_code"), "school_name": r.get("school_name"),
                         "status": r.get("status"),
                         "status_name": r.get("status_name")} for r in unsigned[:20]]}


async def pending(read: Callable[[], Any], peers: Peers, who: Principal,
                  now: datetime) -> dict[str, Any]:
    """`read` opens a transaction on intake's store: `async with read() as repo:`."""
    manager = manager_of(who)
    unit = manager.unit
    out: dict[str, Any] = {"role": who.role.value, "level": unit.level.value,
                           "code": unit.code, "items": {}}
    items: dict[str, Any] = out["items"]
    if who.role is Role.SCHOOL_ADMIN:
        items["rejected_records"] = await _queue(peers, unit, "rejected")
        items["awaiting_school_review"] = await _queue(peers, unit, "submitted")
        items["unsigned_confirmation_tables"] = await _confirmations(peers, unit)
    elif who.role in (Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN):
        items["awaiting_county_review"] = await _queue(peers, unit, "school_approved")
        items["unsigned_confirmation_tables"] = await _confirmations(peers, unit)
    async with read() as repo:
        store: AccountStore = repo
        if who.role in (Role.SCHOOL_ADMIN, Role.COUNTY_ADMIN, Role.CITY_ADMIN,
                        Role.PROVINCE_ADMIN):
            items["open_teacher_flags"] = {"status": "ok",
                                           "count": await store.count_open_flags(unit)}
        if manager.is_sysadmin:
            locked = await store.locked_accounts(unit, now)
            items["locked_accounts"] = {"status": "ok", "count": len(locked),
                                        "accounts": [{"username": u, "until": t.isoformat()}
                                                     for u, t in locked[:20]]}
    return out
