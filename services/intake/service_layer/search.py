"""Finding a teacher (GET /v1/teachers/search): the rules of services/intake/domain/search.py
applied to a caller. A hit inside the caller's region carries the record; outside it (an ID
number lookup across the province) only where the person holds or held a post."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain.search import TeacherQuery
from services.intake.service_layer.common import region_of
from services.intake.service_layer.ports import Registry, TeacherHit
from shared.auth import Principal, Region, Role
from shared.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Found:
    hit: TeacherHit
    in_region: bool


async def search_teachers(repo: Registry, who: Principal, query: TeacherQuery, *, limit: int,
                          offset: int) -> list[Found]:
    if who.role is Role.TEACHER:
        raise Forbidden("teacher accounts see only their own record (/v1/me/record)")
    if query.school_code is not None:
        school = await repo.school(query.school_code)
        if school is None:
            raise NotFound(f"no school {query.school_code} in the registry")
        if query.id_number is None:
            who.require(region_of(school))
    if query.id_number is not None:
        ids = await repo.teacher_ids_of(query.id_number)
        if not ids:
            return []
        hits = await repo.search_teachers(query, within=None, teacher_ids=ids, limit=limit,
                                          offset=offset)
        return [Found(h, who.covers(region_of(h.school))) for h in hits]
    within = None if who.province_wide else Region(
        school_code=who.school_code, county_code=who.county_code, city_code=who.city_code)
    hits = await repo.search_teachers(query, within=within, teacher_ids=None, limit=limit,
                                      offset=offset)
    return [Found(h, True) for h in hits]
