"""GET /v1/teachers/search on the real PostgreSQL: a name prefix inside one's region (through
the name index), an ID number across the province without the record, a 422 at q."""

from __future__ import annotations

from uuid import uuid4

import pytest

from tests.integration.test_intake_support import (
    COUNTY,
    OTHER_COUNTY,
    a_person,
    a_school,
    a_teacher,
    intake_service,
    schema_of,
)
from tests.support import RunningService

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def svc(stack_env):
    async for running in intake_service(stack_env):
        yield running


async def test_a_county_finds_by_name_prefix_only_in_its_county(svc: RunningService) -> None:
    family = f"检{uuid4().hex[:6]}"  # a surname no other test uses
    mine, theirs = await a_school(svc), await a_school(svc, county=OTHER_COUNTY)
    here = await a_teacher(svc, mine, a_person(name=f"{family}甲"))
    await a_teacher(svc, theirs, a_person(name=f"{family}乙"))

    r = await svc.client.get("/v1/teachers/search", params={"q": family},
                             headers=svc.auth("county_admin", county_code=COUNTY))
    province = await svc.client.get("/v1/teachers/search", params={"q": family},
                                    headers=svc.auth("province_admin"))

    assert r.status_code == 200, r.text
    assert [h["teacher_id"] for h in r.json()] == [here["teacher_id"]]
    assert r.json()[0]["school_code"] == mine and r.json()[0]["record"]["name"] == f"{family}甲"
    assert [h["name"] for h in province.json()] == sorted([f"{family}甲", f"{family}乙"])


async def test_a_receiving_school_finds_a_person_by_id_number_and_sees_only_where_they_are(
        svc: RunningService) -> None:
    sending, receiving = await a_school(svc, county=OTHER_COUNTY), await a_school(svc)
    person = a_person()
    teacher = await a_teacher(svc, sending, person)

    r = await svc.client.get("/v1/teachers/search", params={"q": person["id_number"].lower()},
                             headers=svc.auth("school_admin", school_code=receiving))

    assert r.status_code == 200, r.text
    [hit] = r.json()
    assert hit["teacher_id"] == teacher["teacher_id"] and hit["school_code"] == sending
    assert hit["in_region"] is False and hit["record"] is None


async def test_a_school_pages_through_its_own_teachers(svc: RunningService) -> None:
    school = await a_school(svc)
    for n in range(3):
        await a_teacher(svc, school, a_person(name=f"页{n}"))
    who = svc.auth("school_admin", school_code=school)

    pages = [await svc.client.get("/v1/teachers/search", headers=who, params={
        "school_code": school, "limit": 2, "offset": offset}) for offset in (0, 2)]

    assert [[h["name"] for h in p.json()] for p in pages] == [["页0", "页1"], ["页2"]]


async def test_a_malformed_query_is_a_422_at_q_and_a_teacher_is_refused(
        svc: RunningService) -> None:
    bad = await svc.client.get("/v1/teachers/search", params={"q": "62010219800101"},
                               headers=svc.auth("province_admin"))
    empty = await svc.client.get("/v1/teachers/search", headers=svc.auth("province_admin"))
    teacher = await svc.client.get("/v1/teachers/search", params={"q": "王"},
                                   headers=svc.auth("teacher", teacher_id=str(uuid4())))

    assert bad.status_code == 422 and bad.json()["problems"][0]["loc"] == "q"
    assert empty.status_code == 422
    assert teacher.status_code == 403


async def test_a_name_search_uses_the_name_index(svc: RunningService) -> None:
    schema = schema_of(svc)
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"ANALYZE {schema}.teachers")
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(
            f"EXPLAIN SELECT teacher_id FROM {schema}.teachers t "
            "WHERE (t.record->>'name') COLLATE \"C\" >= '王' "
            "AND (t.record->>'name') COLLATE \"C\" < '玌'"))
    assert "teachers_by_name" in plan
