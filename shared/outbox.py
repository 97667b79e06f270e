"""The outbox relay: publishes committed events from a service's outbox to Kafka.

Why it is gap-free and duplicate-free under concurrent writers: it never tracks a high-water
mark of positions. It reads whatever rows are in the outbox now (only committed ones are
visible), publishes them in position order with the idempotent producer (acks=all), waits for
every acknowledgement, then deletes exactly those rows. A transaction that commits late with a
lower position is simply found on a later pass. Per-stream order holds because a stream's next
version can only be appended after its previous version committed (unique (stream, version) plus
the expected-version check), so it always has a higher position and is published later or later
in the same ordered batch; the key is the stream id, so Kafka keeps that order per partition.

Only one relay per schema publishes at a time (a session-level advisory lock); a second instance
waits as a hot standby. If the relay dies after Kafka acknowledged a batch but before the delete
committed, that batch is published again on restart: consumers deduplicate by event id.

Public integration events (shared/contracts/public.py) are a translation of the internal ones,
sent by the same producer in the same pass and acknowledged before the outbox rows are deleted:
no second store, no dual write. A re-published batch re-publishes the same public event ids.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.contracts.base import model_for
from shared.contracts.envelope import Envelope
from shared.contracts.public import PublicMessage, translate
from shared.contracts.topics import topic_for_category
from shared.db import SERVER_SETTINGS, checked_schema
from shared.eventstore.store import COLUMNS, envelope_from_row
from shared.logging import get_logger
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = get_logger(__name__)


def topic_for_event_type(event_type: str) -> str:
    model = model_for(event_type)
    if model is None:
        raise LookupError(f"event type {event_type} has no contract; cannot route it")
    return topic_for_category(model.category)


class OutboxRelay:
    def __init__(self, dsn: str, schema: str, source: str, producer: AIOKafkaProducer,
                 *, batch_size: int = 1000, idle_poll_seconds: float = 1.0,
                 route: Callable[[str], str] = topic_for_event_type,
                 publish_public: bool = True) -> None:
        """`route` maps an event type to its topic (the registry's, unless a test sends its
        events to a topic of its own); `publish_public` adds the public translations."""
        self.dsn = dsn
        self.route = route
        self.publish_public = publish_public
        self.schema = checked_schema(schema)
        self.source = source
        self.producer = producer
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self._wake = asyncio.Event()
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set: win leadership, then publish whenever woken or polled."""
        while not stop.is_set():
            try:
                await self._run_as_leader(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox_relay_error", schema=self.schema, error=str(exc))
                await _sleep_or_stop(stop, 1.0)

    async def _run_as_leader(self, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn,
                                                         server_settings=SERVER_SETTINGS)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                          f"outbox:{self.schema}"):
                if await _sleep_or_stop(stop, 2.0):
                    return
            await conn.add_listener(f"{self.schema}_outbox", self._on_notify)
            log.info("outbox_relay_leader", schema=self.schema)
            while not stop.is_set():
                n = await self.publish_once(conn)
                if n == 0:
                    OUTBOX_BACKLOG.labels(self.source).set(0)
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.idle_poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def publish_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of outbox rows; returns how many were published."""
        rows = await conn.fetch(
            f"SELECT {', '.join('e.' + c.strip() for c in COLUMNS.split(','))} "
            f"FROM {self.schema}.outbox o JOIN {self.schema}.events e USING (position) "
            "ORDER BY o.position LIMIT $1", self.batch_size)
        if not rows:
            return 0
        futures = []
        for row in rows:
            env = envelope_from_row(row, self.source)
            headers = [
                ("event_type", env.event_type.encode()),
                ("event_id", str(env.event_id).encode()),
                ("schema_version", str(env.schema_version).encode()),
                ("correlation_id", str(env.correlation_id).encode()),
            ]
            futures.append(await self.producer.send(
                self.route(env.event_type), value=env.to_bytes(),
                key=env.stream_id.encode(), headers=headers))
            for msg in _public_messages(env) if self.publish_public else ():
                futures.append(await self.producer.send(
                    msg.topic, value=msg.value, key=msg.key, headers=list(msg.headers)))
        await asyncio.gather(*futures)
        await conn.execute(f"DELETE FROM {self.schema}.outbox WHERE position = ANY($1::bigint[])",
                           [r["position"] for r in rows])
        self.published += len(rows)
        OUTBOX_PUBLISHED.labels(self.source).inc(len(rows))
        if len(rows) == self.batch_size:
            backlog = await conn.fetchval(f"SELECT count(*) FROM {self.schema}.outbox")
            OUTBOX_BACKLOG.labels(self.source).set(backlog)
        return len(rows)


def _public_messages(env: Envelope) -> list[PublicMessage]:
    """The public messages of an internal event. A payload that does not match its own contract
    (it was validated on append, so this is a bug) is logged and gets no public message: the
    relay must not stall every service's publishing on one event."""
    try:
        return translate(env)
    except (LookupError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        log.error("public_translation_failed", event_id=str(env.event_id),
                  event_type=env.event_type, error=str(exc)[:300])
        return []


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, but return True at once if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
