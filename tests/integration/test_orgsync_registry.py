"""Orgsync's registry view follows intake's events per stream: an event at or below the
version already applied is old news, whatever order or how often it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.orgsync.adapters.registry_store import RegistryStore
from services.orgsync.bootstrap import MIGRATIONS
from services.orgsync.entrypoints.consumers import RegistryProjection
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    SchoolChanged,
    SchoolClosed,
    SchoolProfile,
    SchoolRegistered,
    TeacherLeft,
    TeacherReassigned,
    TeacherRecord,
    TeacherRegistered,
    TeacherUpdated,
)
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, Stage
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.errors import PoisonEvent

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def view(stack_env) -> AsyncIterator[tuple]:
    schema = f"orgsync_r{uuid4().hex[:8]}"
    pool = await create_pool(stack_env.database_url)
    await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
    yield pool, RegistryProjection(RegistryStore(schema)), RegistryStore(schema)
    await drop_schema(pool, schema)
    await pool.close()


def envelope(stream: str, version: int, event: EventPayload) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(event_id=uuid4(), event_type=event.event_type,
                    schema_version=event.schema_version, source="intake", stream_id=stream,
                    stream_version=version, position=version, occurred_at=now,
                    recorded_at=now, actor="test", correlation_id=uuid4(),
                    payload=event.model_dump(mode="json"))


def profile(name: str, stage: Stage = Stage.PRIMARY) -> SchoolProfile:
    return SchoolProfile(name=name, stage=stage, county_code="620102", city_code="620100")


def record(post: PostStatus) -> TeacherRecord:
    return TeacherRecord(name="教师甲", id_number_masked="620102********001X",
                         gender=Gender.MALE, birth_date=date(1985, 5, 5), ethnicity="回族",
                         post_status=post, is_fulltime_teacher=True)


async def feed(pool, projection: RegistryProjection, *envelopes: Envelope) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for env in envelopes:
            await projection.apply(conn, env)


async def test_an_old_school_event_arriving_again_does_not_undo_a_newer_one(view):
    pool, projection, store = view
    code = f"S{uuid4().hex[:8]}"
    registered = envelope(f"school-{code}", 1, SchoolRegistered(school_code=code,
                                                                profile=profile("旧名")))
    changed = envelope(f"school-{code}", 2, SchoolChanged(
        school_code=code, profile=profile("新名", Stage.JUNIOR), changed_fields=("name",)))
    closed = envelope(f"school-{code}", 3, SchoolClosed(school_code=code, merged_into="X1"))
    await feed(pool, projection, registered, changed, closed, registered, changed)
    async with pool.acquire() as conn:
        school = (await store.schools(conn, [code]))[code]
    assert (school.profile.name, school.profile.stage) == ("新名", Stage.JUNIOR)
    assert (school.open, school.merged_into) == (False, "X1")


async def test_a_teacher_follows_their_latest_event_and_leaving_ends_their_post(view):
    pool, projection, store = view
    a, b = f"S{uuid4().hex[:8]}", f"S{uuid4().hex[:8]}"
    tid = str(uuid4())
    stream = f"teacher-{tid}"
    await feed(pool, projection,
               envelope(f"school-{a}", 1, SchoolRegistered(school_code=a, profile=profile("甲"))),
               envelope(f"school-{b}", 1, SchoolRegistered(school_code=b, profile=profile("乙"))),
               envelope(stream, 1, TeacherRegistered(teacher_id=tid, school_code=a,
                                                     record=record(PostStatus.IN_POST),
                                                     completeness=1)),
               envelope(stream, 2, TeacherReassigned(teacher_id=tid, from_school_code=a,
                                                     to_school_code=b, batch_id="Q1")),
               envelope(stream, 1, TeacherRegistered(teacher_id=tid, school_code=a,
                                                     record=record(PostStatus.IN_POST),
                                                     completeness=1)))
    async with pool.acquire() as conn:
        schools = await store.schools(conn, [a, b])
    assert (schools[a].in_post, schools[b].in_post) == (0, 1)

    await feed(pool, projection,
               envelope(stream, 3, TeacherUpdated(teacher_id=tid, school_code=b,
                                                  record=record(PostStatus.NOT_IN_POST),
                                                  changed_fields=("post_status",),
                                                  completeness=1)))
    async with pool.acquire() as conn:
        school_b = (await store.schools(conn, [b]))[b]
    assert (school_b.in_post, school_b.attached) == (0, 1)

    await feed(pool, projection, envelope(stream, 4, TeacherLeft(
        teacher_id=tid, school_code=b, reason=LeaveReason.RETIRED)))
    async with pool.acquire() as conn:
        school_b = (await store.schools(conn, [b]))[b]
    assert (school_b.in_post, school_b.attached) == (0, 0)


async def test_an_event_that_breaks_its_contract_is_poison(view):
    pool, projection, _ = view
    broken = envelope("school-X", 1, SchoolRegistered(school_code="X", profile=profile("甲")))
    broken = broken.model_copy(update={"payload": {"school_code": "X", "profile": {}}})
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(PoisonEvent):
            await projection.apply(conn, broken)


async def test_an_event_type_orgsync_does_not_know_is_passed_over(view):
    pool, projection, store = view
    unknown = envelope("school-Y", 1, SchoolRegistered(school_code="Y", profile=profile("甲")))
    unknown = unknown.model_copy(update={"event_type": "SchoolInspected"})
    await feed(pool, projection, unknown)
    async with pool.acquire() as conn:
        assert await store.schools(conn, ["Y"]) == {}
