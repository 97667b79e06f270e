"""The idempotent consumer: apply a batch of events and record their ids in one transaction.

For each batch of Kafka records: envelopes that cannot be parsed are dead-lettered with the
reason; the rest are applied to the projection and their event ids recorded in
`<schema>.processed_events`, all in one PostgreSQL transaction. Only after that commits (and the
dead letters are acknowledged by Kafka) does the caller commit the offsets, so a crash anywhere
means redelivery, and redelivery is harmless: an event id already recorded is skipped. A
projection that deduplicates an event on a natural key of its own (`Projection.keyed`) is handed
it again instead, and its key makes the second application a no-op; such events are counted as
applied, not as duplicates.

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

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FetchTuning:
    """How a consumer fetches from Kafka (aiokafka's settings, through faststream).

    A batch costs the same few round trips whatever its size (a transaction, its statements,
    the offset commit), so a consumer keeps pace with the bus only if its batches are large.
    aiokafka's defaults answer a fetch as soon as one byte is there (`fetch_min_bytes=1`) and
    cap each partition at 1 MiB per fetch. Here the broker holds a fetch until `min_bytes`
    have arrived or `max_wait_ms` has passed, so under a steady flow a batch holds what
    arrived meanwhile, and a backlog fills every batch up to the subscriber's `max_records`
    (`partition_bytes`: one fetch brings a whole batch from one partition). `poll_ms` is how
    long a poll waits for records; it is longer than `max_wait_ms` so that a poll rarely
    comes back empty (faststream sleeps as long again after an empty one).

    Measured (bench/results/SUMMARY.md, "Consumers at the bus's pace"): from a backlog the
    defaults already gave 1,924 records per batch of 2,000 (review), these give 2,000; under
    a steady 600 events/s review's batches grow from 90 to 124 records, and an event waits
    at most 200 ms for its fetch (the defaults: up to a 200 ms poll plus a 200 ms sleep)."""

    min_bytes: int = 1024 * 1024
    max_wait_ms: int = 200
    partition_bytes: int = 4 * 1024 * 1024
    poll_ms: int = 300


def fetch_tuning(environ: Mapping[str, str] | None = None) -> FetchTuning:
    """FetchTuning's defaults, or what `TMIS_CONSUMER_FETCH` says (for measuring other
    settings): comma-separated `name=integer`, e.g. `min_bytes=1,max_wait_ms=500`."""
    text = (os.environ if environ is None else environ).get("TMIS_CONSUMER_FETCH", "")
    return FetchTuning(**{k.strip(): int(v) for k, v in (
        item.split("=", 1) for item in text.split(",") if item.strip())})


FETCH = fetch_tuning()


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

    Optional: `def keyed(self, envelope) -> bool`, True for an event the projection itself
    deduplicates on a natural key (a fact's place in its stream, a sample id, a version guard):
    applying it again changes nothing, so the consumer does not record its id in
    processed_events (one insert per event into an ever-growing table, beside a key that
    already says the same). Events it returns False for, and every event of a projection
    without `keyed`, go through processed_events as before.
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
        self.batches = 0  # batches handled, and the records in them: the mean batch size
        self.records = 0
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
        self.batches += 1
        self.records += len(records)
        self.applied += applied
        self.skipped += len(parsed) - applied
        log.info("batch_handled", consumer=self.name, records=len(records), applied=applied,
                 duplicates=len(parsed) - applied, dead_lettered=len(dead),
                 ms=round((time.perf_counter() - started) * 1000, 1))

    async def _apply(self, batch: list[tuple[Record, Envelope]]) -> int:
        if not batch:
            return 0
        keyed = getattr(self.projection, "keyed", None)
        by_key = [keyed is not None and bool(keyed(env)) for _, env in batch]
        async with self.pool.acquire() as conn, conn.transaction():
            ledger = [env.event_id for (_, env), k in zip(batch, by_key, strict=True) if not k]
            fresh = {r["event_id"] for r in await conn.fetch(
                f"INSERT INTO {self.schema}.processed_events (consumer, event_id) "
                "SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
                self.name, ledger)} if ledger else set()
            now = datetime.now(UTC)
            new: list[Envelope] = []
            seen: set[Any] = set()
            for (_, env), k in zip(batch, by_key, strict=True):
                if env.event_id in seen or not (k or env.event_id in fresh):
                    continue
                seen.add(env.event_id)  # the same id twice in one batch applies once
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
