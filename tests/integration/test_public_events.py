"""Public integration events on the real bus: the outbox relay publishes the translation with the
internal events in the same pass; a re-published batch repeats the same public ids; the worked
subscriber (examples/subsidy) builds its list from the public topics alone; no public message
carries an ID number."""

from __future__ import annotations

import asyncio
import csv
import os
import random
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from examples.id_audit import audit
from examples.subsidy.book import Eligible, SubsidyBook, end_of_day
from examples.subsidy.reader import read_to_end
from shared.contracts import events as ev
from shared.contracts.base import EventPayload
from shared.contracts.public import PublicEnvelope, public_event_id
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, Stage
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.domain.idnumber import mask, synthetic_id_number
from shared.eventstore import EventStore, Metadata, UnitOfWork
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from tests.integration.kafka_tools import read_topic

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
D = date(2017, 4, 7)


class Stores:
    """An intake-like and a review-like event store, each with its relay, on the test stack."""

    def __init__(self, pool, stack_env, intake: EventStore, review: EventStore, producer):
        self.pool, self.stack_env, self.producer = pool, stack_env, producer
        self.intake, self.review = intake, review
        self.rng = random.Random(uuid4().int)

    async def append(self, store: EventStore, stream: str, payload: EventPayload,
                     when: datetime) -> int:
        async with UnitOfWork(self.pool) as uow:
            [env] = await store.append(uow.conn, stream, None, [payload],
                                       Metadata(actor="test", occurred_at=when))
        return env.stream_version

    async def school(self, county: str, rural: bool) -> str:
        code = f"{county}{self.rng.randrange(10**4):04d}"
        await self.append(self.intake, f"school-{code}", ev.SchoolRegistered(
            school_code=code, profile=ev.SchoolProfile(
                name="测试乡小学", stage=Stage.PRIMARY, county_code=county,
                city_code=county[:4] + "00", is_rural=rural)), at(date(2016, 9, 1)))
        return code

    async def teacher(self, school: str, when: datetime) -> tuple[str, int, str]:
        """A registered teacher; returns (teacher_id, record version, the full ID number
        intake would keep private)."""
        tid = str(uuid4())
        birth = date(1970, 1, 1) + timedelta(days=self.rng.randrange(9000))
        id_number = synthetic_id_number(self.rng, school[:6], birth, "female")
        record = ev.TeacherRecord(name="测试教师", id_number_masked=mask(id_number),
                                  gender=Gender.FEMALE, birth_date=birth, ethnicity="汉族",
                                  post_status=PostStatus.IN_POST, is_fulltime_teacher=True)
        v = await self.append(self.intake, f"teacher-{tid}", ev.TeacherRegistered(
            teacher_id=tid, school_code=school, record=record, completeness=0.7), when)
        return tid, v, id_number

    async def review_complete(self, tid: str, version: int, school: str, when: datetime) -> None:
        await self.append(self.review, f"review-{tid}", ev.ReviewCompleted(
            teacher_id=tid, record_version=version, school_code=school,
            county_code=school[:6]), when)

    async def publish(self) -> int:
        """One relay pass per store (waits for every acknowledgement)."""
        n = 0
        async with self.pool.acquire() as conn:
            for store, source in ((self.intake, "intake"), (self.review, "review")):
                relay = OutboxRelay(self.stack_env.database_url, store.schema, source,
                                    self.producer)
                while (published := await relay.publish_once(conn)) > 0:
                    n += published
        return n


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
async def stores(stack_env):
    pool = await create_pool(stack_env.database_url, max_size=5)
    suffix = uuid4().hex[:8]
    intake = EventStore(f"pub_intake_t{suffix}", "intake")
    review = EventStore(f"pub_review_t{suffix}", "review")
    for store in (intake, review):
        await apply_migrations(pool, store.schema, [EVENTSTORE_MIGRATIONS])
    await ensure_topics(stack_env.kafka_bootstrap)
    producer = make_producer(stack_env.kafka_bootstrap, "test-public-relay")
    await producer.start()
    try:
        yield Stores(pool, stack_env, intake, review, producer)
    finally:
        await producer.stop()
        for store in (intake, review):
            await drop_schema(pool, store.schema)
        await pool.close()


async def public_messages(bootstrap: str, keys: set[str]) -> list[PublicEnvelope]:
    out = []
    async for raw in read_to_end(bootstrap, ("tmis.public.school.v1", "tmis.public.teacher.v1",
                                             "tmis.public.review.v1")):
        env = PublicEnvelope.from_bytes(raw)
        if env.key in keys:
            out.append(env)
    return out


async def test_the_relay_publishes_public_events_in_the_same_pass_as_the_internal_ones(
        stores, stack_env):
    school = await stores.school("620123", rural=True)
    tid, v, _ = await stores.teacher(school, at(date(2017, 1, 9)))
    await stores.append(stores.intake, f"teacher-{tid}", ev.TeacherLeft(
        teacher_id=tid, school_code=school, reason=LeaveReason.RESIGNED), at(date(2017, 3, 1)))
    await stores.review_complete(tid, v, school, at(date(2017, 2, 1)))
    assert await stores.publish() == 4
    async with stores.pool.acquire() as conn:
        internal = await stores.intake.load(conn, f"teacher-{tid}")
        for store in (stores.intake, stores.review):
            assert await conn.fetchval(f"SELECT count(*) FROM {store.schema}.outbox") == 0
    found = await public_messages(stack_env.kafka_bootstrap, {school, tid})
    by_key = defaultdict(list)
    for env in found:
        by_key[env.key].append(env)
    assert [e.event_type for e in by_key[school]] == ["SchoolOpened"]
    teacher_events = sorted(by_key[tid], key=lambda e: (e.occurred_at, e.event_type))
    assert [e.event_type for e in teacher_events] == ["TeacherInPost", "ReviewCompleted",
                                                      "TeacherLeft"]
    in_post = teacher_events[0]
    assert in_post.event_id == public_event_id(internal[0].event_id, "TeacherInPost")
    assert in_post.source_event_id == internal[0].event_id and in_post.sequence == 1
    kept = await read_topic(stack_env.kafka_bootstrap, "tmis.intake.teacher.v1",
                            keep=lambda e: e.stream_id == f"teacher-{tid}", expect=2)
    assert len(kept) == 2  # the internal events went out too, unchanged


async def test_a_batch_published_twice_after_a_crash_repeats_the_same_public_ids(
        stores, stack_env):
    school = await stores.school("620124", rural=True)
    tid, v, _ = await stores.teacher(school, at(date(2017, 1, 10)))
    await stores.review_complete(tid, v, school, at(date(2017, 1, 20)))
    await stores.publish()
    async with stores.pool.acquire() as conn:  # Kafka acked, the delete was lost: again
        for store in (stores.intake, stores.review):
            await conn.execute(f"INSERT INTO {store.schema}.outbox (position) "
                               f"SELECT position FROM {store.schema}.events")
    await stores.publish()
    found = await public_messages(stack_env.kafka_bootstrap, {school, tid})
    counts = Counter(e.event_id for e in found)
    assert len(counts) == 3 and set(counts.values()) == {2}
    book = SubsidyBook()
    for env in found:
        book.add_raw(env.to_bytes())
    assert book.eligible(end_of_day(D)) == [Eligible("620124", school, tid)]


async def test_the_subsidy_example_lists_exactly_the_reviewed_teachers_in_post_at_rural_schools(
        stores, stack_env, tmp_path):
    rural_a = await stores.school("620123", rural=True)
    rural_b = await stores.school("620521", rural=True)
    town = await stores.school("620123", rural=False)
    expected: set[tuple[str, str, str]] = set()
    # reviewed, in post, rural: listed
    for school in (rural_a, rural_a, rural_b):
        tid, v, _ = await stores.teacher(school, at(date(2017, 1, 5)))
        await stores.review_complete(tid, v, school, at(date(2017, 2, 5)))
        expected.add((tid, school, school[:6]))
    # reviewed at a town school: not listed
    tid, v, _ = await stores.teacher(town, at(date(2017, 1, 5)))
    await stores.review_complete(tid, v, town, at(date(2017, 2, 5)))
    # not reviewed: not listed
    await stores.teacher(rural_a, at(date(2017, 1, 6)))
    # reviewed, then the record changed: the review no longer covers it
    tid, v, _ = await stores.teacher(rural_b, at(date(2017, 1, 7)))
    await stores.review_complete(tid, v, rural_b, at(date(2017, 1, 20)))
    await stores.append(stores.intake, f"teacher-{tid}", ev.TeacherTransferred(
        teacher_id=tid, from_school_code=rural_b, to_school_code=rural_a,
        proof=ev.ProofDocument(sha256="c" * 64, media_type="application/pdf", size_bytes=5)),
        at(date(2017, 3, 1)))
    # reviewed but retired before the date: not listed
    tid, v, _ = await stores.teacher(rural_a, at(date(2017, 1, 8)))
    await stores.review_complete(tid, v, rural_a, at(date(2017, 1, 25)))
    await stores.append(stores.intake, f"teacher-{tid}", ev.TeacherLeft(
        teacher_id=tid, school_code=rural_a, reason=LeaveReason.RETIRED), at(date(2017, 3, 31)))
    await stores.publish()

    out = tmp_path / "subsidy.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.subsidy", "--as-of", D.isoformat(),
        "--bootstrap", stack_env.kafka_bootstrap, "--csv", str(out), cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    stdout, _ = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, stdout.decode()
    with out.open(encoding="utf-8") as f:
        rows = {(r["teacher_id"], r["school_code"], r["county_code"])
                for r in csv.DictReader(f) if r["school_code"] in (rural_a, rural_b, town)}
    assert rows == expected
    assert "乡村教师生活补助名单" in stdout.decode()


async def test_no_message_on_any_public_topic_carries_an_id_number(stores, stack_env):
    ids = []
    school = await stores.school("620123", rural=True)
    for _ in range(20):
        tid, v, id_number = await stores.teacher(school, at(date(2017, 1, 5)))
        await stores.review_complete(tid, v, school, at(date(2017, 1, 6)))
        ids.append(id_number)
    await stores.publish()
    result = await audit(stack_env.kafka_bootstrap)
    assert result.messages >= 41 and result.offending == ()
    texts = [raw.decode() async for raw in read_to_end(stack_env.kafka_bootstrap)]
    assert not any(n in t or n[:17] in t for t in texts for n in ids)
