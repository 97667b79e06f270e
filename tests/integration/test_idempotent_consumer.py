"""The idempotent consumer against the real Kafka and PostgreSQL: redelivery and poison."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from shared.consumer import IdempotentConsumer
from shared.contracts.envelope import Envelope
from shared.contracts.topics import DEAD_LETTER_TOPIC
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.kafka import ensure_topics, make_producer
from shared.runtime import group_id, subscribe
from tests.support import eventually

pytestmark = pytest.mark.integration


class CountingProjection:
    """Counts applications per event: any double application shows as a count of 2."""

    def __init__(self, schema: str, topic: str) -> None:
        self.name = "counting"
        self.topics = (topic,)
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.applied (event_id, n) VALUES ($1, 1) "
            "ON CONFLICT (event_id) DO UPDATE SET n = applied.n + 1", envelope.event_id)


def an_envelope(i: int) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(event_id=uuid4(), event_type="TeacherLeft", schema_version=1,
                    source="test", stream_id=f"teacher-{uuid4()}", stream_version=1,
                    position=i + 1, occurred_at=now, recorded_at=now, actor="test",
                    correlation_id=uuid4(),
                    payload={"teacher_id": "x", "school_code": "S", "reason": "retired"})


@pytest.fixture
async def setting(stack_env):
    schema = f"cons_t{uuid4().hex[:10]}"
    topic = f"test.consumer.{uuid4().hex[:10]}"
    pool = await create_pool(stack_env.database_url)
    await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS])
    await pool.execute(f"CREATE TABLE {schema}.applied (event_id uuid PRIMARY KEY, n int)")
    await ensure_topics(stack_env.kafka_bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack_env.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    await admin.close()
    producer = make_producer(stack_env.kafka_bootstrap, "test-consumer")
    await producer.start()
    yield pool, schema, topic, producer
    await producer.stop()
    await drop_schema(pool, schema)
    await pool.close()


async def publish(producer: AIOKafkaProducer, topic: str, values: list[bytes]) -> None:
    for v in values:
        await producer.send_and_wait(topic, value=v, key=b"k")


async def counts(pool: asyncpg.Pool, schema: str) -> list[int]:
    return [r["n"] for r in await pool.fetch(f"SELECT n FROM {schema}.applied")]


async def test_a_consumer_that_dies_before_committing_its_offset_applies_nothing_twice(
        setting, stack_env):
    pool, schema, topic, producer = setting
    projection = CountingProjection(schema, topic)
    await publish(producer, topic, [an_envelope(i).to_bytes() for i in range(25)])
    group = f"g-{uuid4().hex[:8]}"

    async def one_life(commit: bool) -> IdempotentConsumer:
        consumer = IdempotentConsumer(pool, schema, projection, producer)
        kafka = AIOKafkaConsumer(topic, bootstrap_servers=stack_env.kafka_bootstrap,
                                 group_id=group, enable_auto_commit=False,
                                 auto_offset_reset="earliest")
        await kafka.start()
        try:
            seen = 0
            while seen < 25:
                batch = await kafka.getmany(timeout_ms=1000)
                for records in batch.values():
                    await consumer.handle_records(records)  # database commit happens here
                    seen += len(records)
            if commit:
                await kafka.commit()
        finally:
            await kafka.stop()  # without commit: the crash between database and offset commit
        return consumer

    first = await one_life(commit=False)
    assert first.applied == 25
    second = await one_life(commit=True)  # every record is delivered again
    assert second.applied == 0 and second.skipped == 25
    assert sorted(await counts(pool, schema)) == [1] * 25


async def test_a_poison_message_goes_to_the_dead_letter_topic_and_the_next_is_applied(
        setting, stack_env):
    pool, schema, topic, producer = setting
    projection = CountingProjection(schema, topic)
    consumer = IdempotentConsumer(pool, schema, projection, producer)
    broker = KafkaBroker(stack_env.kafka_bootstrap, logger=None)
    subscribe(broker, consumer, max_records=100)
    poison = b'{"event_id": "not-a-uuid", "this is": "no envelope"}'
    good = an_envelope(1)
    await broker.start()
    try:
        await publish(producer, topic, [poison, good.to_bytes()])
        await eventually(lambda: counts(pool, schema), lambda c: c == [1], timeout=60)
    finally:
        await broker.stop()

    dead = await read_dead_letters(stack_env.kafka_bootstrap, marker=poison)
    assert len(dead) == 1
    reason = dict(dead[0].headers)["dlq_reason"].decode()
    assert "unparseable envelope" in reason
    assert dict(dead[0].headers)["dlq_source"].decode().startswith(topic)
    committed = await committed_offsets(stack_env.kafka_bootstrap,
                                        group_id(schema, projection.name), topic)
    assert sum(committed) == 2, "both offsets were committed after handling"


async def read_dead_letters(bootstrap: str, marker: bytes) -> list:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    try:
        tp = TopicPartition(DEAD_LETTER_TOPIC, 0)
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        end = (await reader.end_offsets([tp]))[tp]
        found = []
        while await reader.position(tp) < end:
            for records in (await reader.getmany(tp, timeout_ms=1000)).values():
                found += [r for r in records if r.value == marker]
        return found
    finally:
        await reader.stop()


async def committed_offsets(bootstrap: str, group: str, topic: str) -> list[int]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                              enable_auto_commit=False)
    await reader.start()
    try:
        parts = reader.partitions_for_topic(topic) or {0, 1}
        return [await reader.committed(TopicPartition(topic, p)) or 0 for p in sorted(parts)]
    finally:
        await reader.stop()
