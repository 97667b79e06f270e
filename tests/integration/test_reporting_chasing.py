"""Chasing the laggards (催报) on the real stack: the province opens a round, a county finds
its lagging schools and reminds one, the school's administrator sees it until reading it, and
the county sees that it was read. Every step is an event on reporting's own topic."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_reporting_world import (
    day,
    epoch,
    reporting_world,
    school,
    tag,
    teacher,
)
from tests.support import eventually

pytestmark = pytest.mark.integration

COUNTY, CITY = "620102", "620100"


@pytest.fixture(scope="module")
async def world(stack_env):
    async with reporting_world(stack_env) as world:
        yield world


async def a_school_with_teachers(src: Any, svc: Any, n: int = 3) -> str:
    code = f"C{tag()}"
    await src.intake.emit(f"school-{code}", [school(code)], day(epoch(), 0))
    for _ in range(n):
        t = teacher(code)
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(epoch(), 1))
    await eventually(lambda: svc.schools({code}),
                     lambda r: r.get(code, {}).get("staff_entered") == n)
    return code


async def events_of(svc: Any, stream: str) -> list[str]:
    rows = await svc.runtime.pool.fetch(
        f"SELECT event_type FROM {svc.runtime.store.schema}.events WHERE stream_id = $1 "
        "ORDER BY stream_version", stream)
    return [r["event_type"] for r in rows]


async def test_only_the_province_opens_a_round_and_its_deadlines_must_be_in_order(world):
    _, svc = world
    body = {"title": "2017 年教师信息采集", "entry_due": "2017-05-10", "report_due": "2017-05-15"}
    city = await svc.client.post("/v1/rounds", json=body,
                                 headers=svc.auth("city_admin", city_code=CITY))
    backwards = await svc.client.post("/v1/rounds", json={**body, "report_due": "2017-05-01"},
                                      headers=svc.auth("province_admin"))
    opened = await svc.client.post("/v1/rounds", json=body, headers=svc.auth("province_admin"))

    assert city.status_code == 403
    assert backwards.status_code == 422 and "report_due" in backwards.text
    assert opened.status_code == 201, opened.text
    round_id = opened.json()["round_id"]
    assert await events_of(svc, f"round-{round_id}") == ["CollectionRoundOpened"]
    rounds = await eventually(lambda: _json(svc, "/v1/rounds", svc.auth("query")),
                              lambda rs: any(r["round_id"] == round_id for r in rs))
    assert next(r for r in rounds if r["round_id"] == round_id)["entry_due"] == "2017-05-10"


async def test_a_county_reminds_a_lagging_school_which_reads_it_once(world):
    src, svc = world
    round_id = (await svc.client.post("/v1/rounds", headers=svc.auth("province_admin"), json={
        "title": "催报测试", "entry_due": "2017-05-10", "report_due": "2017-05-15"})).json()[
        "round_id"]
    await eventually(lambda: _json(svc, "/v1/rounds", svc.auth("query")),
                     lambda rs: any(r["round_id"] == round_id for r in rs))
    code = await a_school_with_teachers(src, svc)
    county = svc.auth("county_admin", county_code=COUNTY)
    admin = svc.auth("school_admin", school_code=code, county_code=COUNTY, city_code=CITY)

    lagging = await _json(svc, "/v1/laggards", county, level="school", round_id=round_id)
    [mine] = [lag for lag in lagging["laggards"] if lag["code"] == code]
    assert mine["review_rate"] == 0.0 and mine["notices_sent"] == 0
    assert any("审核完成率" in r for r in mine["reasons"])

    by_school = await svc.client.post("/v1/notices", headers=admin, json={
        "level": "school", "unit_codes": [code]})
    elsewhere = await svc.client.post("/v1/notices", headers=svc.auth(
        "city_admin", city_code="620500"), json={"level": "school", "unit_codes": [code]})
    sent = await svc.client.post("/v1/notices", headers=county, json={
        "level": "school", "unit_codes": [code], "round_id": round_id})
    assert by_school.status_code == 403
    assert elsewhere.status_code == 422 and "unit_codes[0]" in elsewhere.text
    assert sent.status_code == 201, sent.text
    [notice] = sent.json()["notices"]
    assert "5 月 10 日前" in notice["message"] and notice["review_rate"] == 0.0

    banner = await eventually(lambda: _json(svc, "/v1/me/notices", admin),
                              lambda ns: any(n["notice_id"] == notice["notice_id"] for n in ns))
    assert banner[0]["unit_name"] == f"测试学校{code}"
    other = svc.auth("school_admin", school_code=f"X{tag()}", county_code=COUNTY,
                     city_code=CITY)
    assert await _json(svc, "/v1/me/notices", other) == []
    path = f"/v1/notices/{notice['notice_id']}/read"
    assert (await svc.client.post(path, headers=county)).status_code == 403
    first = await svc.client.post(path, headers=admin)
    assert first.status_code == 200 and first.json()["first_reading"] is True

    await eventually(lambda: _json(svc, "/v1/me/notices", admin),
                     lambda ns: all(n["notice_id"] != notice["notice_id"] for n in ns))
    again = await svc.client.post(path, headers=admin)
    assert again.json()["first_reading"] is False
    assert await events_of(svc, f"notice-{notice['notice_id']}") == \
        ["LaggardNoticeSent", "LaggardNoticeRead"]
    sent_list = await _json(svc, "/v1/notices", county, round_id=round_id)
    [shown] = [n for n in sent_list if n["notice_id"] == notice["notice_id"]]
    assert shown["read_at"] is not None and shown["read_by"].startswith("school_admin")
    after = await _json(svc, "/v1/laggards", county, level="school", round_id=round_id)
    [row] = [lag for lag in after["laggards"] if lag["code"] == code]
    assert row["notices_sent"] == 1 and row["last_read_at"] is not None


async def test_a_reminder_to_an_unknown_unit_sends_none_of_the_batch(world):
    src, svc = world
    code = await a_school_with_teachers(src, svc, 1)
    before = await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {svc.runtime.store.schema}.events "
        "WHERE stream_id LIKE 'notice-%'")
    r = await svc.client.post("/v1/notices", headers=svc.auth("province_admin"), json={
        "level": "school", "unit_codes": [code, "NO-SUCH-SCHOOL"]})
    after = await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {svc.runtime.store.schema}.events "
        "WHERE stream_id LIKE 'notice-%'")
    assert r.status_code == 422 and "unit_codes[1]" in r.text
    assert after == before


async def _json(svc: Any, path: str, headers: dict[str, str], **params: Any) -> Any:
    r = await svc.client.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()
