"""Intake under concurrency, against the real stack: 200 clients at once, every event on Kafka
exactly once; two schools racing for one person, exactly one wins; retries racing each other
with one Idempotency-Key, one registration."""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import uuid4

import pytest

from tests.integration.kafka_tools import read_topic
from tests.integration.test_intake_support import (
    TEACHER_TOPIC,
    a_person,
    a_school,
    distinct_people,
    event_count,
    intake_service,
    schema_of,
)
from tests.support import RunningService

pytestmark = pytest.mark.integration

CLIENTS = 200


@pytest.fixture(scope="module")
async def svc(stack_env):
    async for running in intake_service(stack_env, db_pool_size=20):
        yield running


async def test_200_concurrent_clients_are_all_accepted_and_each_event_is_on_kafka_once(
        svc: RunningService) -> None:
    schools = [await a_school(svc) for _ in range(20)]
    people = distinct_people(CLIENTS)

    async def client(i: int) -> tuple[int, str]:
        school = schools[i % len(schools)]
        r = await svc.client.post("/v1/teachers",
                                  json={"school_code": school, "record": people[i]},
                                  headers=svc.auth("school_admin", school_code=school))
        return r.status_code, r.json().get("teacher_id", r.text)

    answers = await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    assert [status for status, _ in answers] == [201] * CLIENTS
    ours = {teacher_id for _, teacher_id in answers}
    assert len(ours) == CLIENTS

    kept = await read_topic(svc.settings.kafka_bootstrap, TEACHER_TOPIC,
                            keep=lambda env: env.payload.get("teacher_id") in ours,
                            expect=CLIENTS, timeout=90)
    event_ids = Counter(env.event_id for _, env in kept)
    per_teacher = Counter(env.payload["teacher_id"] for _, env in kept)
    assert len(kept) == CLIENTS and set(event_ids.values()) == {1}
    assert set(per_teacher) == ours and set(per_teacher.values()) == {1}
    assert {env.event_type for _, env in kept} == {"TeacherRegistered"}


async def test_two_schools_racing_for_one_person_exactly_one_wins(svc: RunningService) -> None:
    first, second = await a_school(svc), await a_school(svc)
    people = distinct_people(25)
    before = await event_count(svc)

    async def claim(school: str, person: dict) -> int:
        r = await svc.client.post("/v1/teachers", json={"school_code": school, "record": person},
                                  headers=svc.auth("school_admin", school_code=school))
        if r.status_code == 409:
            assert r.json()["existing_school_code"] in (first, second)
        return r.status_code

    for person in people:
        outcomes = await asyncio.gather(claim(first, person), claim(second, person))
        assert sorted(outcomes) == [201, 409]
    assert await event_count(svc) == before + len(people)
    active = await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {schema_of(svc)}.identities "
        "WHERE id_number = ANY($1::text[]) AND active", [p["id_number"] for p in people])
    assert active == len(people)


async def test_concurrent_retries_with_one_idempotency_key_register_once(
        svc: RunningService) -> None:
    school = await a_school(svc)
    body = {"school_code": school, "record": a_person()}
    headers = {**svc.auth("school_admin", school_code=school), "Idempotency-Key": str(uuid4())}
    before = await event_count(svc)
    answers = await asyncio.gather(*(svc.client.post("/v1/teachers", json=body,
                                                     headers=headers) for _ in range(8)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["teacher_id"] for r in answers}) == 1
    assert await event_count(svc) == before + 1


async def test_a_group_committed_crowd_gets_one_answer_each_and_refusals_write_nothing(
        svc: RunningService) -> None:
    schools = [await a_school(svc) for _ in range(10)]
    people = distinct_people(120)
    # every fourth submission repeats an earlier person at another school: a 409 each
    bodies = []
    for i, person in enumerate(people[:100]):
        school = schools[i % len(schools)]
        if i % 4 == 3:
            person = people[i - 1]
            school = schools[(i + 1) % len(schools)]
        bodies.append((school, person))
    before = await event_count(svc)

    async def post(school: str, person: dict) -> tuple[str, int, dict]:
        r = await svc.client.post("/v1/teachers", json={"school_code": school, "record": person},
                                  headers=svc.auth("school_admin", school_code=school))
        return school, r.status_code, r.json()

    answers = await asyncio.gather(*(post(s, p) for s, p in bodies))
    accepted = [(school, body["teacher_id"]) for school, status, body in answers
                if status == 201]
    refused = [body for _, status, body in answers if status == 409]
    assert len(accepted) == 75 and len(refused) == 25
    assert all(body["error"] == "duplicate_person" for body in refused)
    assert await event_count(svc) == before + 75
    rows = await svc.runtime.pool.fetch(
        f"SELECT payload->>'teacher_id' AS teacher_id, actor FROM {schema_of(svc)}.events "
        "WHERE payload->>'teacher_id' = ANY($1::text[])", [t for _, t in accepted])
    actor_of = {r["teacher_id"]: r["actor"] for r in rows}
    # each event carries its own caller as actor (the token's subject), not the batch's
    assert {t: actor_of[t] for _, t in accepted} == {t: f"school_admin:{s}" for s, t in accepted}
    active = await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {schema_of(svc)}.identities WHERE active "
        "AND id_number = ANY($1::text[])", [p["id_number"] for _, p in bodies])
    assert active == 75
