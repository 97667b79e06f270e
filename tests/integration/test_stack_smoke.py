"""The session's Kafka and PostgreSQL answer: the ground every integration test stands on."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.integration.conftest_stack import StackEnv

pytestmark = pytest.mark.integration


async def test_kafka_delivers_a_produced_message_to_a_consumer(stack_env: StackEnv) -> None:
    topic = f"smoke-{uuid.uuid4().hex}"
    value = uuid.uuid4().bytes
    producer = AIOKafkaProducer(
        bootstrap_servers=stack_env.kafka_bootstrap, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"stream-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack_env.kafka_bootstrap,
        group_id=f"smoke-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()

    assert (message.key, message.value) == (b"stream-1", value)


async def test_postgresql_answers_select_one(stack_env: StackEnv) -> None:
    conn = await asyncpg.connect(stack_env.database_url)
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()
