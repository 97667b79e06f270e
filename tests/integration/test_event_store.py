"""The event store and outbox relay against the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import date
from uuid import uuid4

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.contracts.events import TeacherLeft, TeacherRecord, TeacherUpdated
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.errors import ConcurrencyConflict
from shared.eventstore import EventStore, Metadata, UnitOfWork
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from tests.integration.kafka_tools import read_topic

pytestmark = pytest.mark.integration



def an_update(teacher_id: str, n: int) -> TeacherUpdated:
    record = TeacherRecord(name=f"测试{n}", id_number_masked="620102********0011",
                           gender=Gender.MALE, birth_date=date(1980, 1, 1), ethnicity="汉族",
                           post_status=PostStatus.IN_POST, is_fulltime_teacher=True)
    return TeacherUpdated(teacher_id=teacher_id, school_code="S1", record=record,
                          changed_fields=("name",), completeness=0.5)


@pytest.fixture
async def store_schema(stack_env):
    schema = f"es_t{uuid4().hex[:10]}"
    pool = await create_pool(stack_env.database_url, max_size=25)
    await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS])
    await ensure_topics(stack_env.kafka_bootstrap)
    yield pool, EventStore(schema, "intake")
    await drop_schema(pool, schema)
    await pool.close()


@pytest.fixture
async def private_topic(stack_env):
    """These events are synthetic (updates of teachers never registered): they go to a topic of
    the test's own, not to the real teacher topic other tests' services consume."""
    name = f"test.eventstore.{uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack_env.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1)])
    finally:
        await admin.close()
    return name


def relay(stack_env, store: EventStore, producer, topic: str, **kw) -> OutboxRelay:
    return OutboxRelay(stack_env.database_url, store.schema, "intake", producer,
                       route=lambda _type: topic, publish_public=False, **kw)


def routed(store: EventStore, topic: str) -> EventStore:
    """The same store, its events' messages rendered for the test's own topic."""
    return EventStore(store.schema, "intake", route=lambda _type: topic, publish_public=False)


async def test_a_stale_append_is_refused_and_changes_nothing(store_schema):
    pool, store = store_schema
    stream = f"teacher-{uuid4()}"
    async with UnitOfWork(pool) as uow:
        await store.append(uow.conn, stream, 0, [an_update(stream, 1)], Metadata(actor="t"))
    with pytest.raises(ConcurrencyConflict) as refused:
        async with UnitOfWork(pool) as uow:
            await store.append(uow.conn, stream, 0, [an_update(stream, 2)], Metadata(actor="t"))
    assert refused.value.actual == 1
    async with pool.acquire() as conn:
        events = await store.load(conn, stream)
        outbox = await conn.fetchval(f"SELECT count(*) FROM {store.schema}.outbox")
    assert [e.payload["record"]["name"] for e in events] == ["测试1"]
    assert outbox == 1


async def test_two_writers_racing_on_one_version_leave_exactly_one_event(store_schema):
    pool, store = store_schema
    stream = f"teacher-{uuid4()}"
    gate = asyncio.Event()

    async def writer(n: int) -> bool:
        async with pool.acquire() as conn, conn.transaction():
            await gate.wait()
            try:
                await store.append(conn, stream, 0, [an_update(stream, n)], Metadata(actor="t"))
            except ConcurrencyConflict:
                return False
            await asyncio.sleep(0.05)  # hold the row lock while the other writer tries
            return True

    tasks = [asyncio.create_task(writer(n)) for n in range(2)]
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    wins = [o for o in outcomes if o is True]
    losses = [o for o in outcomes if o is False or isinstance(o, ConcurrencyConflict)]
    assert len(wins) == 1 and len(losses) == 1
    async with pool.acquire() as conn:
        assert await store.version(conn, stream) == 1


async def test_twenty_concurrent_writers_each_event_reaches_kafka_once_in_stream_order(
        store_schema, stack_env, private_topic):
    pool, store = store_schema
    store = routed(store, private_topic)
    streams = [f"teacher-{uuid4()}" for _ in range(40)]
    writers, per_writer = 20, 500

    async def writer(w: int) -> None:
        rng = random.Random(w)
        written = 0
        while written < per_writer:
            stream = rng.choice(streams)
            async with pool.acquire() as conn:
                try:
                    async with conn.transaction():
                        version = await store.version(conn, stream)
                        n = min(rng.randint(1, 5), per_writer - written)
                        await store.append(conn, stream, version,
                                           [an_update(stream, w * 10000 + written + i)
                                            for i in range(n)], Metadata(actor=f"w{w}"))
                        written += n
                except ConcurrencyConflict:
                    continue  # reload and retry, as a command handler would

    producer = make_producer(stack_env.kafka_bootstrap, "test-relay")
    await producer.start()
    stop = asyncio.Event()
    relays = [relay(stack_env, store, producer, private_topic, batch_size=300)
              for _ in range(2)]  # two relays: one leads, the other waits as a standby
    relay_tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    try:
        await asyncio.gather(*(writer(w) for w in range(writers)))
        mine = set(streams)
        kept = await read_topic(stack_env.kafka_bootstrap, private_topic,
                                keep=lambda e: e.stream_id in mine,
                                expect=writers * per_writer, timeout=120)
    finally:
        stop.set()
        await asyncio.gather(*relay_tasks)
        await producer.stop()

    ids = [env.event_id for _, env in kept]
    assert len(ids) == writers * per_writer
    assert len(set(ids)) == len(ids), "an event reached Kafka twice"
    seen: dict[str, list[int]] = defaultdict(list)
    partition_of: dict[str, set[int]] = defaultdict(set)
    for partition, env in kept:
        seen[env.stream_id].append(env.stream_version)
        partition_of[env.stream_id].add(partition)
    for stream, versions in seen.items():
        assert versions == list(range(1, len(versions) + 1)), f"{stream} out of order"
        assert len(partition_of[stream]) == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {store.schema}.outbox") == 0
    assert sum(r.published for r in relays) == writers * per_writer


async def test_a_transaction_that_commits_late_with_a_lower_position_is_still_published(
        store_schema, stack_env, private_topic):
    pool, store = store_schema
    store = routed(store, private_topic)
    early, late = f"teacher-{uuid4()}", f"teacher-{uuid4()}"
    producer = make_producer(stack_env.kafka_bootstrap, "test-relay-late")
    await producer.start()
    late_relay = relay(stack_env, store, producer, private_topic)
    slow: asyncpg.Connection = await pool.acquire()
    try:
        tx = slow.transaction()
        await tx.start()
        [slow_event] = await store.append(slow, early, 0, [TeacherLeft(
            teacher_id=early, school_code="S1", reason=LeaveReason.RETIRED)], Metadata(actor="t"))
        async with UnitOfWork(pool) as uow:
            [fast_event] = await store.append(uow.conn, late, 0, [TeacherLeft(
                teacher_id=late, school_code="S1", reason=LeaveReason.RETIRED)],
                Metadata(actor="t"))
        assert slow_event.position < fast_event.position
        async with pool.acquire() as conn:
            assert await late_relay.publish_once(conn) == 1  # only the committed, higher one
        await tx.commit()
        async with pool.acquire() as conn:
            assert await late_relay.publish_once(conn) == 1  # the late, lower one is not skipped
            assert await late_relay.publish_once(conn) == 0
    finally:
        await pool.release(slow)
        await producer.stop()
    kept = await read_topic(stack_env.kafka_bootstrap, private_topic,
                            keep=lambda e: e.stream_id in (early, late), expect=2)
    assert sorted(env.stream_id for _, env in kept) == sorted([early, late])


async def test_pooled_sessions_run_without_jit_compilation(stack_env):
    # an index-forced plan priced at 1e10 would otherwise pay LLVM compilation per batch
    pool = await create_pool(stack_env.database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW jit") == "off"
        other = await create_pool(stack_env.database_url, max_size=1,
                                  server_settings={"application_name": "tmis-test"})
        try:
            async with other.acquire() as conn:
                assert await conn.fetchval("SHOW jit") == "off"
                assert await conn.fetchval("SHOW application_name") == "tmis-test"
        finally:
            await other.close()
    finally:
        await pool.close()
