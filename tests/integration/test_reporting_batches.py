"""The batch path of reporting's projection on a real PostgreSQL: however a set of events is
split into batches and ordered within them, with duplicates or without, the tables are the same,
and they are what folding each entity's sorted facts gives."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from services.reporting.adapters.timelines import INFINITY, sort_key, version_records
from services.reporting.bootstrap import MIGRATIONS
from services.reporting.domain.history import fact_of, versions_of
from services.reporting.entrypoints.consumers import ReportingProjection
from shared.contracts.base import EventPayload, parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    RecordApproved,
    ReviewCompleted,
    SchoolChanged,
    SchoolClosed,
    TeacherLeft,
    TeacherReassigned,
    TeacherReturnedToPost,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.vocabulary import LeaveReason, ReviewLevel, Stage
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from tests.integration.test_reporting_world import record, school, tag, teacher

pytestmark = pytest.mark.integration

TABLES = ("entity_events", "school_versions", "teacher_versions")
PROOF = {"sha256": "e" * 64, "media_type": "application/pdf", "size_bytes": 100}


class Streams:
    """Envelopes numbered as the source services' stores would number them."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], int] = defaultdict(int)
        self.position = 0
        self.recorded = datetime(2024, 1, 1, tzinfo=UTC)

    def emit(self, source: str, stream_id: str, payload: EventPayload, at: datetime) -> Envelope:
        self.versions[(source, stream_id)] += 1
        self.position += 1
        self.recorded += timedelta(milliseconds=1)
        return Envelope(event_id=uuid4(), event_type=payload.event_type,
                        schema_version=payload.schema_version, source=source,
                        stream_id=stream_id, stream_version=self.versions[(source, stream_id)],
                        position=self.position, occurred_at=at, recorded_at=self.recorded,
                        actor="test", correlation_id=uuid4(),
                        payload=payload.model_dump(mode="json"))


def history(rng: random.Random, n_teachers: int = 30) -> list[Envelope]:
    """Schools and teachers with every kind of event reporting folds, in business-time order
    per stream; some facts of one entity share an instant, some come from other sources."""
    s = Streams()
    t0 = datetime(2016, 9, 1, tzinfo=UTC)
    day = timedelta(days=1)
    k = tag()
    codes = [f"Q{k}{i}" for i in range(4)]
    out = [s.emit("intake", f"school-{c}", school(c, Stage.PRIMARY), t0) for c in codes]
    out.append(s.emit("intake", f"school-{codes[1]}", SchoolChanged(
        school_code=codes[1], profile=school(codes[1], Stage.JUNIOR, name="改名学校").profile,
        changed_fields=("name", "stage")), t0 + 5 * day))
    # a change at the very instant the school registered: one version, not an empty interval
    out.append(s.emit("intake", f"school-{codes[2]}", SchoolChanged(
        school_code=codes[2], profile=school(codes[2], Stage.SENIOR).profile,
        changed_fields=("stage",)), t0))
    out.append(s.emit("orgsync", f"school-{codes[3]}", SchoolClosed(
        school_code=codes[3], merged_into=codes[0], batch_id="b1"), t0 + 20 * day))
    for i in range(n_teachers):
        reg = teacher(codes[i % 4])
        tid, stream = reg.teacher_id, f"teacher-{reg.teacher_id}"
        at = t0 + day + timedelta(hours=i)
        out.append(s.emit("intake", stream, reg, at))
        version = 1
        review_at = at + 3 * day
        for step in rng.sample(range(6), rng.randrange(0, 4)):
            at += timedelta(days=rng.choice((0, 1, 2)))  # 0: same instant as the last fact
            if step == 0:
                out.append(s.emit("intake", stream, TeacherUpdated(
                    teacher_id=tid, school_code=codes[i % 4], record=record(fulltime=False),
                    changed_fields=("is_fulltime_teacher",), completeness=0.9), at))
                version += 1
            elif step == 1:
                out.append(s.emit("intake", stream, TeacherTransferred.model_validate({
                    "teacher_id": tid, "from_school_code": codes[i % 4],
                    "to_school_code": codes[(i + 1) % 4], "proof": PROOF}), at))
                version += 1
            elif step == 2:
                out.append(s.emit("intake", stream, TeacherLeft(
                    teacher_id=tid, school_code=codes[i % 4], reason=LeaveReason.RESIGNED), at))
            elif step == 3:
                out.append(s.emit("intake", stream, TeacherReturnedToPost.model_validate({
                    "teacher_id": tid, "school_code": codes[0], "proof": PROOF}), at))
            elif step == 4:
                out.append(s.emit("orgsync", stream, TeacherReassigned(
                    teacher_id=tid, from_school_code=codes[3], to_school_code=codes[0],
                    batch_id="b1"), at))
            else:
                review_at = at  # reviewed at the same instant as a record change
        review = f"review-{tid}"
        for level in (ReviewLevel.SCHOOL, ReviewLevel.COUNTY):
            out.append(s.emit("review", review, RecordApproved(
                teacher_id=tid, level=level, record_version=version, school_code=codes[i % 4],
                county_code="620102"), review_at))
        out.append(s.emit("review", review, ReviewCompleted(
            teacher_id=tid, record_version=version, school_code=codes[i % 4],
            county_code="620102"), review_at))
    return out


def interleaved(events: Sequence[Envelope], rng: random.Random) -> list[Envelope]:
    """A delivery order Kafka could produce: each stream's events in order, streams mixed."""
    by_stream: dict[str, list[Envelope]] = defaultdict(list)
    for e in events:
        by_stream[e.stream_id].append(e)
    queues = list(by_stream.values())
    out: list[Envelope] = []
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        if not q:
            queues.remove(q)
    return out


def split(events: Sequence[Envelope], rng: random.Random) -> list[list[Envelope]]:
    out, i = [], 0
    while i < len(events):
        n = rng.randrange(1, 40)
        out.append(list(events[i:i + n]))
        i += n
    return out


def expected_versions(events: Sequence[Envelope]) -> dict[str, list[tuple[Any, ...]]]:
    """The oracle: per entity, its distinct facts sorted by key and folded from nothing."""
    seen: set[tuple[str, str, int]] = set()
    timelines: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for env in events:
        place = (env.source, env.stream_id, env.stream_version)
        fact = fact_of(parse_payload(env), env.stream_version)
        if fact is None or place in seen:
            continue
        seen.add(place)
        timelines[(fact.kind, fact.entity_id)].append(((env.occurred_at, sort_key(env)),
                                                       fact.fact))
    out: dict[str, list[tuple[Any, ...]]] = {"school": [], "teacher": []}
    for (kind, entity_id), timeline in timelines.items():
        out[kind] += version_records(entity_id, versions_of(kind, sorted(
            timeline, key=lambda item: item[0])))
    return {kind: sorted((_comparable(r) for r in rows), key=repr) for kind, rows in out.items()}


def _comparable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(round(v, 5) if isinstance(v, float) else v for v in row)


@pytest.fixture(scope="module")
async def pool(stack_env) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(stack_env.database_url, max_size=4)
    yield p
    await p.close()


class Schema:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.name = f"reporting_b{tag()}"
        self.projection = ReportingProjection(self.name)

    async def __aenter__(self) -> Schema:
        await apply_migrations(self.pool, self.name, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await drop_schema(self.pool, self.name)

    async def apply(self, batches: Sequence[Sequence[Envelope]]) -> None:
        for batch in batches:
            async with self.pool.acquire() as conn, conn.transaction():
                await self.projection.apply_batch(conn, batch)

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        out = {}
        async with self.pool.acquire() as conn:
            for table in TABLES:
                rows = await conn.fetch(f"SELECT * FROM {self.name}.{table}")
                out[table] = sorted((tuple(repr(v) if isinstance(v, dict) else v
                                           for v in r.values()) for r in rows), key=repr)
        return out

    async def versions(self, kind: str) -> list[tuple[Any, ...]]:
        table, id_col = ("school_versions", "school_code") if kind == "school" else \
            ("teacher_versions", "teacher_id")
        async with self.pool.acquire() as conn:
            cols = ("registered, name, stage, is_teaching_point, county_code, city_code, "
                    "reporting_line, is_rural, open, merged_into") if kind == "school" else (
                "school_code, in_post, is_fulltime, has_left, completeness, record_version, "
                "reviewed_version")
            rows = await conn.fetch(f"SELECT {id_col}, valid_from, valid_to, head, {cols} "
                                    f"FROM {self.name}.{table}")
        # asyncpg reads 'infinity' back as a naive datetime.max; completeness is a real
        return sorted((_comparable((*tuple(r)[:2], INFINITY if r["valid_to"].tzinfo is None
                                    else r["valid_to"], *tuple(r)[3:])) for r in rows), key=repr)


async def tables_after(pool: asyncpg.Pool, batches: Sequence[Sequence[Envelope]]
                       ) -> dict[str, list[tuple[Any, ...]]]:
    async with Schema(pool) as schema:
        await schema.apply(batches)
        return await schema.dump()


async def test_one_batch_in_order_gives_the_folded_timelines(pool):
    events = history(random.Random(1))
    async with Schema(pool) as schema:
        await schema.apply([events])
        expected = expected_versions(events)
        assert await schema.versions("school") == expected["school"]
        assert await schema.versions("teacher") == expected["teacher"]
        assert len(expected["teacher"]) > 30  # the histories have several versions


async def test_in_order_shuffled_and_split_batches_give_identical_tables(pool):
    rng = random.Random(2)
    events = history(rng)
    reference = await tables_after(pool, [events])
    shuffled = rng.sample(events, len(events))
    variants = {
        "one event per batch": [[e] for e in events],
        "shuffled, one batch": [shuffled],
        "shuffled, split": split(shuffled, rng),
        "streams interleaved, split": split(interleaved(events, rng), rng),
        "reversed, split": split(events[::-1], rng),
    }
    for name, batches in variants.items():
        assert await tables_after(pool, batches) == reference, name


async def test_duplicates_within_and_across_batches_count_once(pool):
    rng = random.Random(3)
    events = history(rng)
    reference = await tables_after(pool, [events])
    # the same message twice in one batch, and a re-published copy (same stream position,
    # new event id) in the same batch and in a later one
    copies = [e.model_copy(update={"event_id": uuid4()}) for e in rng.sample(events, 25)]
    doubled = events + rng.sample(events, 40) + copies[:10]
    rng.shuffle(doubled)
    batches = [*split(doubled, rng), copies[10:] + rng.sample(events, 10)]
    assert await tables_after(pool, batches) == reference


async def test_late_facts_in_later_batches_rebuild_the_entity(pool):
    rng = random.Random(4)
    events = history(rng)
    reference = await tables_after(pool, [events])
    # review decisions first (as a replay reading every topic at once may deliver them),
    # then each teacher's newest facts before their oldest
    review = [e for e in events if e.source == "review"]
    rest = sorted((e for e in events if e.source != "review"),
                  key=lambda e: e.occurred_at, reverse=True)
    assert await tables_after(pool, split(review, rng) + split(rest, rng)) == reference


async def test_concurrent_batches_over_the_same_entities_neither_deadlock_nor_differ(pool):
    rng = random.Random(5)
    events = history(rng, n_teachers=60)
    reference = await tables_after(pool, [events])
    async with Schema(pool) as schema:
        # a replay and the live consumer applying the same events, in different orders
        await asyncio.wait_for(asyncio.gather(
            schema.apply(split(rng.sample(events, len(events)), rng)),
            schema.apply(split(rng.sample(events, len(events)), rng)),
            schema.apply(split(events, rng))), 60)
        assert await schema.dump() == reference
