"""The idempotent consumer while the database fails under it: nothing dead-lettered for the
infrastructure, every event applied exactly once once the database is back.

The faults are caused, not simulated: the consumer's own PostgreSQL connections are terminated
with pg_terminate_backend (SQLSTATE 57P01, what a restart or an operator does) again and again
while it applies a stream of events; and a projection that meets "too many connections"
(53300) on its first attempts shows the retry path through the subscriber's seek-back.
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import uuid4

import asyncpg
import pytest
from faststream.kafka import KafkaBroker

from shared import deadletters
from shared.consumer import IdempotentConsumer
from shared.contracts.envelope import Envelope
from shared.db import create_pool
from shared.runtime import subscribe
from tests.integration.test_idempotent_consumer import (
    CountingProjection,
    an_envelope,
    counts,
    publish,
    setting,
)
from tests.support import eventually

pytestmark = pytest.mark.integration
__all__ = ["setting"]


class SlowCountingProjection(CountingProjection):
    """Counts applications per event (a double application shows as 2), taking a moment per
    event so that terminations land in the middle of a transaction."""

    def __init__(self, schema: str, topic: str) -> None:
        super().__init__(schema, topic)
        self.name = f"counting_{uuid4().hex[:8]}"

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        await super().apply(conn, envelope)
        await conn.execute("SELECT pg_sleep(0.002)")


class CrowdedProjection(SlowCountingProjection):
    """Meets PostgreSQL's "too many clients" on its first `crowded` attempts."""

    def __init__(self, schema: str, topic: str, crowded: int) -> None:
        super().__init__(schema, topic)
        self.crowded = crowded

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        if self.crowded > 0:
            self.crowded -= 1
            raise asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
        await super().apply(conn, envelope)


async def dead_letters_of(bootstrap: str, consumer: str) -> list[bytes | None]:
    """Every dead letter a consumer of this name ever wrote."""
    return [d.value for d in (await deadletters.read(bootstrap)).select(consumer=consumer)]


async def terminate_backends(admin: asyncpg.Pool, application: str) -> int:
    terminated: int = await admin.fetchval(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = $1) t", application)
    return terminated


async def test_terminated_connections_mid_stream_lose_nothing_and_apply_nothing_twice(
        setting, stack_env):
    admin, schema, topic, producer = setting
    application = f"consumer-fault-{uuid4().hex[:8]}"
    pool = await create_pool(stack_env.database_url, max_size=4,
                             server_settings={"application_name": application})
    projection = SlowCountingProjection(schema, topic)
    consumer = IdempotentConsumer(pool, schema, projection, producer, wait_initial=0.05,
                                  wait_max=0.5)
    broker = KafkaBroker(stack_env.kafka_bootstrap, logger=None)
    subscribe(broker, consumer, max_records=40)
    total = 600
    await publish(producer, topic, [an_envelope(i).to_bytes() for i in range(total)])
    terminated = 0

    async def keep_terminating() -> None:
        nonlocal terminated
        while True:
            await asyncio.sleep(0.25)
            terminated += await terminate_backends(admin, application)

    await broker.start()
    killer = asyncio.create_task(keep_terminating())
    try:
        await eventually(lambda: counts(admin, schema), lambda c: len(c) >= total // 2,
                         timeout=120)
        await eventually(lambda: counts(admin, schema), lambda c: len(c) == total, timeout=180)
    finally:
        killer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await killer
        await broker.stop()
        await pool.close()

    assert terminated > 0, "the fault was caused"
    assert consumer.transient_failures > 0, "and the consumer met it"
    assert sorted(await counts(admin, schema)) == [1] * total
    assert await dead_letters_of(stack_env.kafka_bootstrap, projection.name) == []


async def test_a_failure_that_outlasts_the_retries_is_redelivered_not_dead_lettered(
        setting, stack_env):
    pool, schema, topic, producer = setting
    projection = CrowdedProjection(schema, topic, crowded=12)
    # retries give up after 0.3 s: the subscriber then seeks back and the batch comes again
    consumer = IdempotentConsumer(pool, schema, projection, producer, retry_seconds=0.3,
                                  wait_initial=0.05, wait_max=0.1)
    broker = KafkaBroker(stack_env.kafka_bootstrap, logger=None)
    subscribe(broker, consumer, max_records=10)
    await publish(producer, topic, [an_envelope(i).to_bytes() for i in range(30)])
    await broker.start()
    try:
        await eventually(lambda: counts(pool, schema), lambda c: len(c) == 30, timeout=90)
    finally:
        await broker.stop()
    assert projection.crowded == 0
    assert sorted(await counts(pool, schema)) == [1] * 30
    assert await dead_letters_of(stack_env.kafka_bootstrap, projection.name) == []
