"""Orgsync on the real stack: the registry arrives from intake's topics, a batch of 400
restructurings touching 10,000 teachers plans and applies as one event that reaches Kafka once,
a batch with one bad line changes nothing, and applying twice is a no-op."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.orgsync.bootstrap import SPEC
from shared.contracts.events import (
    SchoolClosed,
    SchoolProfile,
    SchoolRegistered,
    TeacherReassigned,
)
from shared.contracts.topics import topic_for_category
from shared.domain.divisions import divisions
from shared.eventstore.store import Append
from tests.integration.kafka_tools import read_topic
from tests.integration.test_orgsync_scenario import (
    EFFECTIVE,
    FakeIntake,
    Scenario,
    build_scenario,
    followed,
)
from tests.support import RunningService, eventually, running_service, settings_for

pytestmark = pytest.mark.integration

RESTRUCTURING_TOPIC = topic_for_category("restructuring")
CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
async def intake(stack_env) -> AsyncIterator[FakeIntake]:
    fake = await FakeIntake(settings_for(stack_env)).start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def orgsync(stack_env) -> AsyncIterator[RunningService]:
    async with running_service(SPEC, settings_for(stack_env),
                               schema=f"orgsync_t{uuid4().hex[:8]}") as svc:
        yield svc


def schema_of(svc: RunningService) -> str:
    return svc.runtime.store.schema


async def registered(intake: FakeIntake, orgsync: RunningService, scenario: Scenario) -> None:
    """Intake registers the scenario's schools and teachers; wait until orgsync followed."""
    await intake.register(scenario)
    await eventually(lambda: followed(orgsync.runtime.pool, schema_of(orgsync), scenario),
                     lambda n: n == len(scenario.teachers), timeout=240, interval=0.5)


async def stream_events(svc: RunningService, batch_id: str) -> list[str]:
    rows = await svc.runtime.pool.fetch(
        f"SELECT event_type FROM {schema_of(svc)}.events WHERE stream_id = $1 "
        "ORDER BY stream_version", f"batch-{batch_id}")
    return [r["event_type"] for r in rows]


async def school_view(svc: RunningService, *codes: str) -> dict:
    params = [("school", c) for c in codes]
    response = await svc.client.get("/v1/registry", params=params,
                                    headers=svc.auth("province_admin"))
    assert response.status_code == 200, response.text
    return response.json()["schools"]


async def test_a_batch_of_400_restructurings_touching_10000_teachers_applies_once(
        intake, orgsync):
    scenario = build_scenario()
    await registered(intake, orgsync, scenario)
    admin = orgsync.auth("province_admin")
    body = scenario.csv()

    planned = await orgsync.client.post("/v1/batches/plan", content=body,
                                        headers={**admin, **CSV})
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    assert plan["ok"], plan["problems"][:5]
    assert (plan["operations"], plan["teachers_to_move"]) == (400, 10_000)
    staff_delta = sum(r["after"]["staff"] - r["before"]["staff"] for r in plan["counts"])
    school_delta = sum(r["after"]["schools"] - r["before"]["schools"] for r in plan["counts"])
    assert staff_delta == 0  # merged teachers move, nobody leaves
    assert school_delta == len(scenario.opened) - len(scenario.merged)
    assert await stream_events(orgsync, scenario.batch_id) == [], "plan changes nothing"

    applied = await orgsync.client.post("/v1/batches/apply", content=body,
                                        headers={**admin, **CSV})
    assert applied.status_code == 200, applied.text
    assert applied.json()["outcome"] == "applied"
    assert applied.json()["teachers_to_move"] == 10_000

    on_kafka = await read_topic(
        intake.settings.kafka_bootstrap, RESTRUCTURING_TOPIC, expect=1, timeout=90,
        keep=lambda e: e.stream_id == f"batch-{scenario.batch_id}")
    assert len(on_kafka) == 1
    event = on_kafka[0][1]
    assert event.event_type == "RestructuringBatchApplied"
    assert len(event.payload["operations"]) == 400
    assert event.payload["teachers_to_move"] == 10_000
    assert event.occurred_at == datetime(EFFECTIVE.year, EFFECTIVE.month, EFFECTIVE.day,
                                         tzinfo=UTC)

    # orgsync's own registry view moved at once: the next plan sees the batch
    source, target = next(iter(scenario.moves.items()))
    view = await school_view(orgsync, source, target)
    assert view[source]["open"] is False and view[source]["merged_into"] == target
    moved_in = sum(scenario.in_post_at(s) for s, t in scenario.moves.items() if t == target)
    assert view[target]["in_post"] == scenario.in_post_at(target) + moved_in

    again = await orgsync.client.post("/v1/batches/apply", content=body,
                                      headers={**admin, **CSV})
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "already_applied"
    assert await stream_events(orgsync, scenario.batch_id) == ["RestructuringBatchApplied"]
    await eventually(outbox_empty(orgsync), bool, timeout=30)
    on_kafka_again = await read_topic(
        intake.settings.kafka_bootstrap, RESTRUCTURING_TOPIC, expect=1, timeout=30,
        keep=lambda e: e.stream_id == f"batch-{scenario.batch_id}")
    assert len(on_kafka_again) == 1

    shown = await orgsync.client.get(f"/v1/batches/{scenario.batch_id}", headers=admin)
    assert shown.json()["status"] == "applied"
    assert shown.json()["teachers_to_move"] == 10_000


def outbox_empty(svc: RunningService):
    """A probe: orgsync's outbox is empty (everything it appended reached Kafka)."""
    async def probe() -> bool:
        return not await svc.runtime.pool.fetchval(f"SELECT count(*) FROM {schema_of(svc)}.outbox")
    return probe


async def test_a_batch_with_one_bad_line_changes_nothing(intake, orgsync):
    scenario = build_scenario(merges=40, closes=5, opens=2, renames=2, restages=0, reporting=0,
                              county_moves=0, per_merged=3, per_closed=4, targets=10)
    await registered(intake, orgsync, scenario)
    bad_line = len(scenario.rows) // 2
    rows = list(scenario.rows)
    rows.insert(bad_line, {"op": "merge", "school_code": scenario.merged[0],
                           "target_code": f"X{uuid4().hex[:8]}"})
    response = await orgsync.client.post("/v1/batches/apply", content=scenario.csv(rows),
                                         headers={**orgsync.auth("service"), **CSV})
    assert response.status_code == 422, response.text
    issues = response.json()["issues"]
    # the unknown target, and the conflict of merging that school twice; both on the bad line
    # or the school's own line, each with its line number (the header is line 1)
    assert {"unknown_school", "conflict"} <= {i["kind"] for i in issues}
    assert all(i["line"] for i in issues)
    assert await stream_events(orgsync, scenario.batch_id) == []
    view = await school_view(orgsync, *scenario.merged[:3])
    assert all(v["open"] for v in view.values())
    missing = await orgsync.client.get(f"/v1/batches/{scenario.batch_id}",
                                       headers=orgsync.auth("service"))
    assert missing.status_code == 404


async def test_the_same_batch_id_with_other_content_is_refused(intake, orgsync):
    scenario = build_scenario(merges=4, closes=0, opens=0, renames=1, restages=0, reporting=0,
                              county_moves=0, per_merged=2, targets=2)
    await registered(intake, orgsync, scenario)
    admin = {**orgsync.auth("province_admin"), **CSV}
    first = await orgsync.client.post("/v1/batches/apply", content=scenario.csv(
        scenario.rows[:2]), headers=admin)
    assert first.json()["outcome"] == "applied", first.text
    replanned = await orgsync.client.post("/v1/batches/plan", content=scenario.csv(
        scenario.rows[2:]), headers=admin)
    assert replanned.json()["known_batch"] == {"status": "applied", "same_content": False}
    other = await orgsync.client.post("/v1/batches/apply", content=scenario.csv(
        scenario.rows[2:]), headers=admin)
    assert other.status_code == 409
    assert other.json()["error"] == "batch_id_reused"
    assert await stream_events(orgsync, scenario.batch_id) == ["RestructuringBatchApplied"]


async def test_an_announced_batch_is_pending_per_stage_until_it_is_applied(intake, orgsync):
    scenario = build_scenario(merges=6, closes=2, opens=1, renames=1, restages=0, reporting=0,
                              county_moves=0, per_merged=1, per_closed=1, targets=3)
    await registered(intake, orgsync, scenario)
    admin = {**orgsync.auth("province_admin"), **CSV}
    body = scenario.csv()
    announced = await orgsync.client.post("/v1/batches/announce", content=body, headers=admin)
    assert announced.status_code == 200, announced.text
    assert announced.json()["outcome"] == "announced"
    assert announced.json()["plan"]["ok"]
    repeat = await orgsync.client.post("/v1/batches/announce", content=body, headers=admin)
    assert repeat.json()["outcome"] == "already_announced"

    pending = (await orgsync.client.get("/v1/pending",
                                        headers=orgsync.auth("city_admin",
                                                             city_code="620100"))).json()
    mine = next(b for b in pending["batches"] if b["batch_id"] == scenario.batch_id)
    assert sum(mine["merging"].values()) == len(scenario.merged)
    assert (mine["opening"], mine["other"]) == (1, 1)
    assert "未完成撤并工作" in pending["sentence"]

    applied = await orgsync.client.post("/v1/batches/apply", content=body, headers=admin)
    assert applied.json()["outcome"] == "applied", applied.text
    after = (await orgsync.client.get("/v1/pending", headers=admin)).json()
    assert scenario.batch_id not in {b["batch_id"] for b in after["batches"]}
    assert await stream_events(orgsync, scenario.batch_id) == [
        "RestructuringBatchAnnounced", "RestructuringBatchApplied"]


async def test_a_city_administrator_may_plan_but_not_apply(intake, orgsync):
    scenario = build_scenario(merges=1, closes=0, opens=0, renames=0, restages=0, reporting=0,
                              county_moves=0, per_merged=1, targets=1)
    city = {**orgsync.auth("city_admin", city_code="620500"), **CSV}
    planned = await orgsync.client.post("/v1/batches/plan", content=scenario.csv(),
                                        headers=city)
    assert planned.status_code == 200
    refused = await orgsync.client.post("/v1/batches/apply", content=scenario.csv(),
                                        headers=city)
    assert refused.status_code == 403
    anonymous = await orgsync.client.post("/v1/batches/plan", content=scenario.csv())
    assert anonymous.status_code == 401


async def test_a_json_batch_and_a_multipart_upload_are_accepted(intake, orgsync):
    scenario = build_scenario(merges=2, closes=0, opens=0, renames=1, restages=0, reporting=0,
                              county_moves=0, per_merged=1, targets=1)
    await registered(intake, orgsync, scenario)
    admin = orgsync.auth("service")
    doc = {"batch_id": scenario.batch_id, "effective_date": EFFECTIVE.isoformat(),
           "operations": [{k: v for k, v in r.items() if v} for r in scenario.rows]}
    as_json = await orgsync.client.post("/v1/batches/plan", json=doc, headers=admin)
    assert as_json.json()["ok"], as_json.text
    upload = await orgsync.client.post(
        "/v1/batches/apply", headers=admin,
        files={"file": ("batch.csv", scenario.csv(), "text/csv")})
    assert upload.json()["outcome"] == "applied", upload.text
    # the JSON form of the same batch is the same batch: already applied
    again = await orgsync.client.post("/v1/batches/apply", json=doc, headers=admin)
    assert again.json()["outcome"] == "already_applied", again.text


async def test_intake_following_the_batch_leaves_orgsyncs_registry_as_the_batch_left_it(
        intake, orgsync):
    scenario = build_scenario(merges=3, closes=0, opens=1, renames=0, restages=0, reporting=0,
                              county_moves=0, per_merged=2, targets=1)
    await registered(intake, orgsync, scenario)
    applied = await orgsync.client.post("/v1/batches/apply", content=scenario.csv(),
                                        headers={**orgsync.auth("service"), **CSV})
    assert applied.json()["outcome"] == "applied", applied.text
    codes = [*scenario.moves, *scenario.moves.values()]
    before = await school_view(orgsync, *codes)

    # what intake's follower appends: the new school, the closures, one reassignment each
    effective = datetime(EFFECTIVE.year, EFFECTIVE.month, EFFECTIVE.day, tzinfo=UTC)
    opened = next(r for r in scenario.rows if r["op"] == "open")
    profile = SchoolProfile(name=opened["name"], stage=opened["stage"],
                            county_code=opened["county_code"],
                            city_code=divisions().city_of(opened["county_code"]))
    follow = [Append(f"school-{opened['school_code']}", 0, [SchoolRegistered(
        school_code=opened["school_code"], profile=profile, batch_id=scenario.batch_id)])]
    follow += [Append(f"school-{src}", None, [SchoolClosed(
        school_code=src, merged_into=dst, batch_id=scenario.batch_id)])
        for src, dst in scenario.moves.items()]
    follow += [Append(f"teacher-{t.teacher_id}", None, [TeacherReassigned(
        teacher_id=t.teacher_id, from_school_code=t.school_code,
        to_school_code=scenario.moves[t.school_code], batch_id=scenario.batch_id)])
        for t in scenario.teachers if t.school_code in scenario.moves]
    await intake.append(follow, occurred_at=effective)
    moved = [t.teacher_id for t in scenario.teachers if t.school_code in scenario.moves]

    async def versions() -> int:
        return int(await orgsync.runtime.pool.fetchval(
            f"SELECT count(*) FROM {schema_of(orgsync)}.registry_teachers "
            "WHERE teacher_id = ANY($1) AND stream_version = 2", moved))

    await eventually(versions, lambda n: n == len(moved), timeout=120, interval=0.5)
    assert await school_view(orgsync, *codes) == before
