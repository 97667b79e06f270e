"""The idempotent consumer: apply a batch of events and record their ids in one transaction.

For each batch of Kafka records: envelopes that cannot be parsed are dead-lettered with the
reason; the rest are applied to the projection and their event ids recorded in
`<schema>.processed_events`, all in one PostgreSQL transaction. Only after that commits (and the
dead letters are acknowledged by Kafka) does the caller commit the offsets, so a crash anywhere
means redelivery, and redelivery is harmless: an event id already recorded is skipped.

An event that parses but cannot be applied (the projection raises PoisonEvent, or any error that
is not an infrastructure failure) is isolated by re-running the batch one event per transaction
and dead-lettered alone; consumption goes on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.contracts.topics import DEAD_LETTER_TOPIC
from shared.db import checked_schema
from shared.logging import get_logger
from shared.metrics import DEAD_LETTERS, EVENTS_APPLIED, PROJECTION_LAG

log = get_logger(__name__)

_INFRASTRUCTURE = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                   asyncpg.exceptions.SerializationError, asyncpg.exceptions.DeadlockDetectedError)


class Record(Protocol):
    """What we need of a Kafka record (aiokafka's ConsumerRecord has all of it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class Projection(Protocol):
    """A read model kept by a consumer. `apply` runs inside the consumer's transaction.

    Optional: a projection that also defines `async def apply_batch(self, conn, envelopes)`
    is handed all new events of a batch at once (delivery order, same transaction) instead
    of one `apply` call per event, so it can read and write in bulk.
    """

    name: str
    topics: tuple[str, ...]

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None: ...


class IdempotentConsumer:
    def __init__(self, pool: asyncpg.Pool, schema: str, projection: Projection,
                 dead_letters: AIOKafkaProducer) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.projection = projection
        self.dead_letters = dead_letters
        self.applied = 0
        self.skipped = 0

    @property
    def name(self) -> str:
        return self.projection.name

    async def handle_records(self, records: Sequence[Record]) -> None:
        started = time.perf_counter()
        parsed: list[tuple[Record, Envelope]] = []
        dead: list[tuple[Record, str]] = []
        for rec in records:
            try:
                parsed.append((rec, Envelope.from_bytes(rec.value or b"")))
            except (ValidationError, ValueError) as exc:
                dead.append((rec, f"unparseable envelope: {_short(exc)}"))
        try:
            applied = await self._apply(parsed)
        except _INFRASTRUCTURE:
            raise
        except Exception:
            log.warning("batch_failed_isolating", consumer=self.name, size=len(parsed))
            applied = 0
            for rec, env in parsed:
                try:
                    applied += await self._apply([(rec, env)])
                except _INFRASTRUCTURE:
                    raise
                except Exception as exc:
                    dead.append((rec, f"cannot apply {env.event_type} {env.event_id}: "
                                      f"{_short(exc)}"))
        await self._dead_letter(dead)
        self.applied += applied
        self.skipped += len(parsed) - applied
        log.info("batch_handled", consumer=self.name, records=len(records), applied=applied,
                 duplicates=len(parsed) - applied, dead_lettered=len(dead),
                 ms=round((time.perf_counter() - started) * 1000, 1))

    async def _apply(self, batch: list[tuple[Record, Envelope]]) -> int:
        if not batch:
            return 0
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = {r["event_id"] for r in await conn.fetch(
                f"INSERT INTO {self.schema}.processed_events (consumer, event_id) "
                "SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
                self.name, [env.event_id for _, env in batch])}
            now = datetime.now(UTC)
            new: list[Envelope] = []
            for _, env in batch:
                if env.event_id not in fresh:
                    continue
                fresh.discard(env.event_id)  # the same id twice in one batch applies once
                new.append(env)
            apply_batch = getattr(self.projection, "apply_batch", None)
            if apply_batch is not None and new:
                await apply_batch(conn, new)
            else:
                for env in new:
                    structlog.contextvars.bind_contextvars(
                        event_id=str(env.event_id), correlation_id=str(env.correlation_id))
                    await self.projection.apply(conn, env)
            applied = len(new)
            for env in new:
                PROJECTION_LAG.labels(self.name).observe(
                    max(0.0, (now - env.recorded_at).total_seconds()))
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
        EVENTS_APPLIED.labels(self.name).inc(applied)
        return applied

    async def _dead_letter(self, dead: list[tuple[Record, str]]) -> None:
        if not dead:
            return
        futures = []
        for rec, reason in dead:
            log.warning("dead_lettered", consumer=self.name, topic=rec.topic,
                        partition=rec.partition, offset=rec.offset, reason=reason)
            headers: list[tuple[str, bytes]] = [
                *list(rec.headers or ()),
                ("dlq_reason", reason.encode()),
                ("dlq_consumer", self.name.encode()),
                ("dlq_source", f"{rec.topic}/{rec.partition}/{rec.offset}".encode()),
            ]
            futures.append(await self.dead_letters.send(
                DEAD_LETTER_TOPIC, value=rec.value, key=rec.key, headers=headers))
        for f in futures:
            await f
        DEAD_LETTERS.labels(self.name).inc(len(dead))


def _short(exc: Exception) -> str:
    text = str(exc).replace("\n", " ")
    return text[:300]


def records_of(message: Any) -> Sequence[Record]:
    """The aiokafka records behind a faststream message (one, or a batch)."""
    raw = message.raw_message
    return raw if isinstance(raw, tuple) else (raw,)
