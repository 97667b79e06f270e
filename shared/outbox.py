"""The outbox relay: publishes committed events from a service's outbox to Kafka.

Why it is gap-free and duplicate-free under concurrent writers: it never tracks a high-water
mark of positions. It reads whatever rows are in the outbox now (only committed ones are
visible), publishes them in position order with the idempotent producer (acks=all), waits for
every acknowledgement, then deletes exactly those rows. A transaction that commits late with a
lower position is simply found on a later pass. Per-stream order holds because a stream's next
version can only be appended after its previous version committed (unique (stream, version) plus
the expected-version check), so it always has a higher position and is published later or later
in the same ordered batch; the key is the stream id, so Kafka keeps that order per partition.

What it sends was rendered at append (shared/eventstore/rendering.py): each outbox row carries
its event's internal message and public translations as bytes, so a pass is one SELECT of the
outbox alone, the sends (batched by the producer: linger, lz4), one DELETE that also beats the
heartbeat. Rows written before rendering existed (messages NULL) are rendered here from the
event row, as they always were.

Only one relay per schema publishes at a time (a session-level advisory lock); another instance
waits as a hot standby and takes over within seconds when the leader's session ends. If the
relay dies after Kafka acknowledged a batch but before the delete committed, that batch is
published again on restart: consumers deduplicate by event id.

It cannot die quietly: every error (database, broker, a bug) is logged, recorded in the
heartbeat row when the database answers, and retried with backoff (1 s doubling to 30 s). A
relay that is not publishing while rows wait makes the service's /healthz answer 503
(`relay_health`), and `tmis status` shows the service unhealthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.db import SERVER_SETTINGS, checked_schema
from shared.eventstore.rendering import (
    Message,
    messages_for,
    topic_for_event_type,
    unpack,
)
from shared.eventstore.store import COLUMNS, envelope_from_row
from shared.logging import get_logger
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = get_logger(__name__)

__all__ = ["OutboxRelay", "relay_health", "topic_for_event_type"]

BACKOFF_START, BACKOFF_CAP = 1.0, 30.0
# A relay that has not published for this long while rows wait is stalled.
STALL_SECONDS = 30.0


class OutboxRelay:
    def __init__(self, dsn: str, schema: str, source: str, producer: AIOKafkaProducer,
                 *, batch_size: int = 2000, idle_poll_seconds: float = 1.0,
                 route: Callable[[str], str] = topic_for_event_type,
                 publish_public: bool = True) -> None:
        """`route` and `publish_public` apply to rows without rendered messages (written before
        rendering existed); rendered rows carry the store's choices (EventStore(route=...))."""
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
        self.errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set: win leadership, then publish whenever woken or polled.
        Whatever goes wrong is logged and retried; only `stop` ends this."""
        backoff = BACKOFF_START
        while not stop.is_set():
            try:
                await self._run_as_leader(stop)
                backoff = BACKOFF_START
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the relay must outlive every error
                self.errors += 1
                log.warning("outbox_relay_error", schema=self.schema,
                            error=f"{type(exc).__name__}: {str(exc)[:300]}", retry_in_s=backoff)
                await self._record_error(exc)
                await _sleep_or_stop(stop, backoff)
                backoff = min(BACKOFF_CAP, backoff * 2)

    async def _run_as_leader(self, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=10,
                                                         server_settings=SERVER_SETTINGS)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                          f"outbox:{self.schema}"):
                if await _sleep_or_stop(stop, 2.0):
                    return
            await conn.add_listener(f"{self.schema}_outbox", self._on_notify)
            await conn.execute(
                f"INSERT INTO {self.schema}.relay_heartbeat (id, leader) VALUES (1, $1) "
                "ON CONFLICT (id) DO UPDATE SET leader = $1, beat_at = now()", self._leader())
            log.info("outbox_relay_leader", schema=self.schema)
            while not stop.is_set():
                n = await self.publish_once(conn)
                if n < self.batch_size:
                    if n == 0:
                        OUTBOX_BACKLOG.labels(self.source).set(0)
                    self._wake.clear()
                    if n == 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.idle_poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    def _leader(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    async def publish_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of outbox rows; returns how many were published."""
        # The outbox alone: joining events here let the planner hash the whole events table
        # on every pass while a fresh table's statistics were stale (4 ms a pass and growing,
        # pg_stat_statements, issue 14). Only rows written before their messages were carried
        # (migration 0002) need their event row, fetched by primary key.
        rows: list[Any] = await conn.fetch(
            f"SELECT position, messages FROM {self.schema}.outbox "
            "ORDER BY position LIMIT $1", self.batch_size)
        legacy = [r["position"] for r in rows if r["messages"] is None]
        if legacy:
            events = {r["position"]: r for r in await conn.fetch(
                f"SELECT {COLUMNS} FROM {self.schema}.events WHERE position = ANY($1::bigint[])",
                legacy)}
            rows = [events.get(r["position"], r) if r["messages"] is None else r for r in rows]
        if not rows:
            return 0
        futures = []
        for row in rows:
            for msg in self._messages(row):
                futures.append(await self.producer.send(
                    msg.topic, value=msg.value, key=msg.key, headers=list(msg.headers)))
        await asyncio.gather(*futures)
        await conn.execute(
            f"""WITH gone AS (
                    DELETE FROM {self.schema}.outbox WHERE position = ANY($1::bigint[]))
                UPDATE {self.schema}.relay_heartbeat SET published_at = now(), beat_at = now(),
                    error = NULL WHERE id = 1""",
            [r["position"] for r in rows])
        self.published += len(rows)
        OUTBOX_PUBLISHED.labels(self.source).inc(len(rows))
        if len(rows) == self.batch_size:
            backlog = await conn.fetchval(f"SELECT count(*) FROM {self.schema}.outbox")
            OUTBOX_BACKLOG.labels(self.source).set(backlog)
        return len(rows)

    def _messages(self, row: asyncpg.Record) -> list[Message]:
        if "messages" in row and row["messages"] is not None:
            return unpack(row["messages"])
        env = envelope_from_row(row, self.source)
        return messages_for(env, env.to_bytes(), self.route, self.publish_public)

    async def _record_error(self, exc: Exception) -> None:
        """Best effort: the heartbeat row says what went wrong (the database may be the
        problem, then the log is all there is)."""
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(self.dsn, timeout=3, server_settings=SERVER_SETTINGS)
            try:
                await conn.execute(
                    f"INSERT INTO {self.schema}.relay_heartbeat (id, leader, error, error_at) "
                    "VALUES (1, $1, $2, now()) ON CONFLICT (id) DO UPDATE "
                    "SET error = $2, error_at = now()",
                    self._leader(), f"{type(exc).__name__}: {str(exc)[:500]}")
            finally:
                await conn.close()


async def relay_health(conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> dict[str, Any]:
    """The outbox as /healthz shows it: backlog, the oldest waiting event's age, when the relay
    last published and its last error; `ok` False when rows wait and nothing was published for
    STALL_SECONDS (or ever)."""
    schema = checked_schema(schema)
    row = await conn.fetchrow(
        f"""SELECT o.n, e.recorded_at AS oldest, h.published_at, h.beat_at, h.error, h.error_at,
                   h.leader, now() AS now
            FROM (SELECT count(*) AS n, min(position) AS p FROM {schema}.outbox) o
            LEFT JOIN {schema}.events e ON e.position = o.p
            LEFT JOIN {schema}.relay_heartbeat h ON true""")
    assert row is not None
    now: datetime = row["now"]
    backlog = int(row["n"])
    last = row["published_at"] or row["beat_at"]
    idle_s = (now - last).total_seconds() if last else None
    ok = backlog == 0 or (idle_s is not None and idle_s < STALL_SECONDS)
    return {"ok": ok, "backlog": backlog, "leader": row["leader"],
            "oldest_waiting_s": round((now - row["oldest"]).total_seconds(), 1)
            if row["oldest"] else None,
            "last_published_s_ago": round(idle_s, 1) if idle_s is not None else None,
            "last_error": row["error"],
            "last_error_at": row["error_at"].astimezone(UTC).isoformat()
            if row["error_at"] else None}


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, but return True at once if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
