"""Reporting's progress series on the real stack: the headline figures as of several days,
oldest first, inside the reader's region (GET /v1/progress)."""

from __future__ import annotations

import pytest

from shared.contracts.vocabulary import Stage
from tests.integration.test_reporting_world import (
    as_of,
    day,
    epoch,
    reporting_world,
    school,
    tag,
    teacher,
)
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def world(stack_env):
    async with reporting_world(stack_env) as world:
        yield world


async def test_the_series_counts_what_was_entered_by_each_of_its_days(world):
    src, svc = world
    t0, k = epoch(), tag()
    early, late = f"E{k}", f"L{k}"
    await src.intake.emit(f"school-{early}", [school(early)], day(t0, 0))
    await src.intake.emit(f"school-{late}", [school(late, Stage.PRIMARY, county="620103")],
                          day(t0, 0))
    for t in (teacher(early), teacher(early)):
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    for t in (teacher(late), teacher(late), teacher(late)):
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 9))

    async def series(**params: str) -> dict:
        r = await svc.client.get("/v1/progress", params={
            "until": as_of(t0, 15), "step_days": "7", "points": "3", **params},
            headers=svc.auth("province_admin"))
        assert r.status_code == 200, r.text
        return r.json()

    body = await eventually(series, lambda b: b["points"][-1]["entered_staff"] == 5)
    assert [p["as_of"] for p in body["points"]] == [as_of(t0, 1), as_of(t0, 8), as_of(t0, 15)]
    assert [p["entered_staff"] for p in body["points"]] == [2, 2, 5]
    assert [p["entered_schools"] for p in body["points"]] == [1, 1, 2]
    assert body["scope"] == "province" and body["step_days"] == 7

    county = await series(county="620103")
    assert [p["entered_staff"] for p in county["points"]] == [0, 0, 3]


async def test_a_county_reads_its_own_series_and_not_its_neighbours(world):
    _, svc = world
    own = await svc.client.get("/v1/progress", params={"points": "2"},
                               headers=svc.auth("county_admin", county_code="620103"))
    assert own.status_code == 200, own.text
    assert own.json()["scope"] == "county 620103" and len(own.json()["points"]) == 2
    other = await svc.client.get("/v1/progress", params={"county": "620102"},
                                 headers=svc.auth("county_admin", county_code="620103"))
    assert other.status_code == 403


async def test_a_series_longer_than_half_a_year_of_weeks_is_refused(world):
    _, svc = world
    r = await svc.client.get("/v1/progress", params={"points": "27"},
                             headers=svc.auth("province_admin"))
    assert r.status_code == 422
