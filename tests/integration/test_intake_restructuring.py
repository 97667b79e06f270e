"""Intake follows orgsync's restructuring batches from the real Kafka topic: a merge moves the
teachers and closes the school; a redelivered or re-published batch moves nobody twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from shared.contracts.envelope import Envelope
from shared.contracts.events import RestructuringBatchApplied, RestructuringOperation
from shared.kafka import ensure_topics, make_producer
from tests.integration.test_intake_support import (
    a_school,
    a_teacher,
    distinct_people,
    intake_service,
    schema_of,
)
from tests.support import RunningService, eventually

pytestmark = pytest.mark.integration

TOPIC = "tmis.orgsync.restructuring.v1"


@pytest.fixture(scope="module")
async def svc(stack_env):
    async for running in intake_service(stack_env):
        yield running


def batch_envelope(batch: RestructuringBatchApplied, key: str) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(event_id=uuid4(), event_type=batch.event_type, schema_version=1,
                    source="orgsync", stream_id=key, stream_version=1, position=1,
                    occurred_at=now, recorded_at=now, actor="city_admin:620100",
                    correlation_id=uuid4(), payload=batch.model_dump(mode="json"))


async def publish(svc: RunningService, *envelopes: Envelope) -> None:
    await ensure_topics(svc.settings.kafka_bootstrap)
    producer = make_producer(svc.settings.kafka_bootstrap, "test-orgsync")
    await producer.start()
    try:
        for env in envelopes:
            # One key for all: one partition, so a later marker proves the earlier were read.
            await producer.send_and_wait(TOPIC, env.to_bytes(), key=env.stream_id.encode(),
                                         headers=[("event_type", env.event_type.encode())])
    finally:
        await producer.stop()


async def school_open(svc: RunningService, code: str) -> bool | None:
    r = await svc.client.get(f"/v1/schools/{code}", headers=svc.auth("province_admin"))
    return r.json()["open"] if r.status_code == 200 else None


async def events_of(svc: RunningService, event_type: str, stream_ids: list[str]) -> list[dict]:
    rows = await svc.runtime.pool.fetch(
        f"SELECT stream_id, occurred_at, payload FROM {schema_of(svc)}.events "
        "WHERE event_type = $1 AND stream_id = ANY($2::text[])", event_type, stream_ids)
    return [dict(r) for r in rows]


async def test_a_merge_moves_the_teachers_closes_the_school_and_redelivery_moves_nobody_twice(
        svc: RunningService) -> None:
    merged, receiving = await a_school(svc), await a_school(svc)
    staff = [(await a_teacher(svc, merged, p))["teacher_id"] for p in distinct_people(4)]
    streams = [f"teacher-{t}" for t in staff]
    batch_id = f"test-{uuid4().hex[:8]}"
    key = f"batch-{batch_id}"
    batch = RestructuringBatchApplied(
        batch_id=batch_id, effective_date=date(2017, 6, 30), teachers_to_move=4,
        operations=(RestructuringOperation(line=1, op="merge", school_code=merged,
                                           target_code=receiving),))
    first = batch_envelope(batch, key)
    await publish(svc, first)
    await eventually(lambda: school_open(svc, merged), lambda is_open: is_open is False,
                     timeout=60)

    listed = await svc.client.get(f"/v1/teachers?school_code={receiving}",
                                  headers=svc.auth("province_admin"))
    assert {t["teacher_id"] for t in listed.json()} == set(staff)
    moves = await events_of(svc, "TeacherReassigned", streams)
    assert len(moves) == 4
    assert {m["occurred_at"].isoformat() for m in moves} == {"2017-06-29T16:00:00+00:00"}
    closed = await events_of(svc, "SchoolClosed", [f"school-{merged}"])
    assert [c["payload"]["merged_into"] for c in closed] == [receiving]

    # The same message again, the same batch under a new event id, then a marker batch.
    opened = f"T{uuid4().hex[:10]}"
    marker = RestructuringBatchApplied(
        batch_id=f"marker-{uuid4().hex[:6]}", effective_date=date(2017, 6, 30),
        teachers_to_move=0,
        operations=(RestructuringOperation(line=1, op="open", school_code=opened, name="新设学校",
                                           stage="kindergarten", county_code="620102"),))
    await publish(svc, first, batch_envelope(batch, key), batch_envelope(marker, key))
    await eventually(lambda: school_open(svc, opened), lambda is_open: is_open is True,
                     timeout=60)
    assert len(await events_of(svc, "TeacherReassigned", streams)) == 4
    assert len(await events_of(svc, "SchoolClosed", [f"school-{merged}"])) == 1
    registered = await events_of(svc, "SchoolRegistered", [f"school-{opened}"])
    assert registered[0]["payload"]["batch_id"] == marker.batch_id


async def test_a_submission_to_a_school_closed_by_a_batch_is_refused(
        svc: RunningService) -> None:
    school = await a_school(svc)
    batch_id = f"test-{uuid4().hex[:8]}"
    batch = RestructuringBatchApplied(
        batch_id=batch_id, effective_date=date(2017, 6, 30), teachers_to_move=0,
        operations=(RestructuringOperation(line=1, op="close", school_code=school),))
    await publish(svc, batch_envelope(batch, f"batch-{batch_id}"))
    await eventually(lambda: school_open(svc, school), lambda is_open: is_open is False,
                     timeout=60)
    r = await svc.client.post("/v1/teachers",
                              json={"school_code": school, "record": distinct_people(1)[0]},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 422 and r.json()["problems"][0]["loc"] == "school_code"
