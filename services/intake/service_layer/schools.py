"""Handlers for the school registry: register, change (or close), read, list.

Registering and changing a school is the education bureaus' business: a county, city or
province administrator covering the school's county (and, when it moves, the new county too),
or a service account. School administrators and query accounts read only.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain import school as domain
from services.intake.domain.commands import ChangeSchool, RegisterSchool
from services.intake.domain.school import School
from services.intake.service_layer.common import business_time, metadata, region_of
from services.intake.service_layer.ports import Lock, Registry
from shared.auth import Principal, Region
from shared.contracts.base import EventPayload
from shared.domain.divisions import divisions
from shared.errors import ConcurrencyConflict, Conflict, NotFound
from shared.eventstore.store import Append


@dataclass(frozen=True)
class SchoolResult:
    school: School
    changed_fields: tuple[str, ...] = ()


async def register_school(repo: Registry, who: Principal, cmd: RegisterSchool) -> SchoolResult:
    region = Region(county_code=cmd.profile.county_code, city_code=cmd.profile.city_code)
    who.require(region, write=True)
    occurred = business_time(who, cmd.occurred_at)
    existing = await repo.school(cmd.code)
    event = domain.register_school(existing, cmd.code, cmd.profile)
    envs = await repo.append([Append(domain.stream_id(cmd.code), 0, [event])],
                             metadata(who, occurred_at=occurred))
    school = domain.evolve(None, event, envs[-1].stream_version)
    await repo.save_schools([school])
    return SchoolResult(school)


async def change_school(repo: Registry, who: Principal, cmd: ChangeSchool) -> SchoolResult:
    school = await repo.school(cmd.code, Lock.UPDATE)
    if school is None:
        raise NotFound(f"no school {cmd.code} in the registry")
    who.require(region_of(school, with_school=False), write=True)
    occurred = business_time(who, cmd.occurred_at)
    if cmd.expected_version != school.version:
        raise ConcurrencyConflict(school.stream_id, cmd.expected_version, school.version)
    if not school.is_open and (cmd.changes or cmd.close):
        raise Conflict(f"school {school.code} is closed; a closed school does not change or "
                       "reopen (a school that opens again is registered under a new code)")
    events: list[EventPayload] = []
    changed: tuple[str, ...] = ()
    if cmd.changes:
        event = domain.change_school(school, cmd.changes)
        if event is not None:
            new_region = Region(county_code=event.profile.county_code,
                                city_code=event.profile.city_code)
            who.require(new_region, write=True)
            events.append(event)
            changed = event.changed_fields
    if cmd.close:
        staff = await repo.count_active_at(school.code)
        events.append(domain.close_school(school, teachers_in_post=staff))
        changed = (*changed, "open")
    if not events:
        return SchoolResult(school)
    envs = await repo.append([Append(school.stream_id, school.version, events)],
                             metadata(who, occurred_at=occurred))
    for env, done in zip(envs, events, strict=True):
        school = domain.evolve(school, done, env.stream_version)
    await repo.save_schools([school])
    return SchoolResult(school, changed)


async def get_school(repo: Registry, who: Principal, code: str) -> School:
    school = await repo.school(code)
    if school is None:
        raise NotFound(f"no school {code} in the registry")
    who.require(region_of(school))
    return school


async def list_schools(repo: Registry, who: Principal, *, county_code: str | None,
                       city_code: str | None, limit: int, offset: int) -> list[School]:
    """Schools of a county or city inside the caller's region (the caller's whole region
    when no filter is given)."""
    if who.school_code and not who.province_wide:
        school = await repo.school(who.school_code)
        wanted = school is not None and (county_code in (None, school.profile.county_code)
                                         and city_code in (None, school.profile.city_code))
        return [school] if school is not None and wanted and offset == 0 else []
    if county_code or city_code:
        city_of_county = divisions().city_of(county_code) if county_code else None
        who.require(Region(county_code=county_code, city_code=city_code or city_of_county))
    elif not who.province_wide:
        county_code, city_code = who.county_code, who.city_code
    return await repo.list_schools(county_code=county_code, city_code=city_code, limit=limit,
                                   offset=offset)
