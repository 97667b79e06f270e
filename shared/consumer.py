"""The idempotent consumer: apply a batch of events and record their ids in one transaction.

For each batch of Kafka records: envelopes that cannot be parsed are dead-lettered with the
reason; the rest are applied to the projection and their event ids recorded in
`<schema>.processed_events`, all in one PostgreSQL transaction. Only after that commits (and the
dead letters are acknowledged by Kafka) does the caller commit the offsets, so a crash anywhere
means redelivery, and redelivery is harmless: an event id already recorded is skipped.

An event that parses but cannot be applied (the projection raises PoisonEvent, or any error that
is not an infrastructure failure) is isolated by re-running the batch one event per transaction
and dead-lettered alone; consumption goes on.

An infrastructure failure (shared.transient.is_transient: PostgreSQL restarting or terminating
our connections, too many connections, a timeout, Kafka unreachable while dead-lettering) is
never the event's fault: the whole batch is tried again in place with exponential backoff
(stamina, see shared/transient.py for what counts), and after `retry_seconds` the error goes up
to the subscriber, which commits no offset and seeks back (faststream's NACK_ON_ERROR), so the
same records come again on the next poll. Nothing is dead-lettered for the infrastructure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import stamina
import structlog
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.contracts.topics import DEAD_LETTER_TOPIC
from shared.db import checked_schema
from shared.logging import get_logger
from shared.metrics import CONSUMER_RETRIES, DEAD_LETTERS, EVENTS_APPLIED, PROJECTION_LAG
from shared.transient import is_transient

log = get_logger(__name__)

RETRY_SECONDS = 60.0  # in place; then the subscriber seeks back and the next poll tries again


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
                 dead_letters: AIOKafkaProducer, *, retry_seconds: float = RETRY_SECONDS,
                 wait_initial: float = 0.2, wait_max: float = 5.0) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.projection = projection
        self.dead_letters = dead_letters
        self.applied = 0
        self.skipped = 0
        self.transient_failures = 0
        self.retry_seconds = retry_seconds
        self.wait_initial = wait_initial
        self.wait_max = wait_max

    @property
    def name(self) -> str:
        return self.projection.name

    async def handle_records(self, records: Sequence[Record]) -> None:
        """Handle a batch; an infrastructure failure is retried with backoff, then raised
        (commit no offset). Returns only when every record is applied, a duplicate, or
        dead-lettered for a reason of its own."""
        async for attempt in stamina.retry_context(
                on=is_transient, attempts=None, timeout=self.retry_seconds,
                wait_initial=self.wait_initial, wait_max=self.wait_max,
                wait_jitter=self.wait_initial):
            with attempt:
                if attempt.num > 1:
                    self.transient_failures += 1
                    CONSUMER_RETRIES.labels(self.name).inc()
                    log.warning("batch_retried_after_transient_failure", consumer=self.name,
                                attempt=attempt.num, records=len(records))
                await self._handle_once(records)

    async def _handle_once(self, records: Sequence[Record]) -> None:
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
        except Exception as failure:
            if is_transient(failure):
                raise
            log.warning("batch_failed_isolating", consumer=self.name, size=len(parsed))
            applied = 0
            for rec, env in parsed:
                try:
                    applied += await self._apply([(rec, env)])
                except Exception as exc:
                    if is_transient(exc):
                        raise
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
