"""The event store: one PostgreSQL schema per writing service, one row per event.

`append` checks the expected version of each stream, inserts the events and their outbox rows
in the caller's transaction (no dual write: the relay publishes from the outbox later), and
wakes the relay with NOTIFY, which PostgreSQL delivers only at commit. A stale expected version
raises ConcurrencyConflict and the transaction writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.db import checked_schema
from shared.errors import ConcurrencyConflict


@dataclass(frozen=True)
class Metadata:
    """Who and why: the same for every event a command appends."""

    actor: str
    correlation_id: UUID = field(default_factory=uuid4)
    causation_id: UUID | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Append:
    """Events for one stream. expected_version 0 means a new stream; None means no check.
    occurred_at, causation_id, actor and correlation_id, when set, override the Metadata's for
    this stream only (one append_many can carry many commands: each caused by its own event,
    or, under group commit, each sent by its own caller)."""

    stream_id: str
    expected_version: int | None
    events: Sequence[EventPayload]
    occurred_at: datetime | None = None
    causation_id: UUID | None = None
    actor: str | None = None
    correlation_id: UUID | None = None


COLUMNS = ("position, event_id, stream_id, stream_version, event_type, schema_version, "
            "occurred_at, recorded_at, actor, correlation_id, causation_id, payload")


def envelope_from_row(row: asyncpg.Record, source: str) -> Envelope:
    payload = row["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    return Envelope(
        event_id=row["event_id"], event_type=row["event_type"],
        schema_version=row["schema_version"], source=source, stream_id=row["stream_id"],
        stream_version=row["stream_version"], position=row["position"],
        occurred_at=row["occurred_at"], recorded_at=row["recorded_at"], actor=row["actor"],
        correlation_id=row["correlation_id"], causation_id=row["causation_id"], payload=payload,
    )


class EventStore:
    def __init__(self, schema: str, source: str) -> None:
        self.schema = checked_schema(schema)
        self.source = source
        self.notify_channel = f"{self.schema}_outbox"

    async def load(self, conn: asyncpg.Connection, stream_id: str) -> list[Envelope]:
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM {self.schema}.events WHERE stream_id = $1 "
            "ORDER BY stream_version", stream_id)
        return [envelope_from_row(r, self.source) for r in rows]

    async def version(self, conn: asyncpg.Connection, stream_id: str) -> int:
        v = await conn.fetchval(
            f"SELECT max(stream_version) FROM {self.schema}.events WHERE stream_id = $1",
            stream_id)
        return int(v or 0)

    async def read_all(self, conn: asyncpg.Connection, after: int = 0,
                       limit: int = 5000) -> list[Envelope]:
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM {self.schema}.events WHERE position > $1 "
            "ORDER BY position LIMIT $2", after, limit)
        return [envelope_from_row(r, self.source) for r in rows]

    async def append(self, conn: asyncpg.Connection, stream_id: str,
                     expected_version: int | None, events: Sequence[EventPayload],
                     meta: Metadata) -> list[Envelope]:
        return await self.append_many(conn, [Append(stream_id, expected_version, events)], meta)

    async def append_many(self, conn: asyncpg.Connection, appends: Sequence[Append],
                          meta: Metadata) -> list[Envelope]:
        """Append to many streams at once (one round trip for the rows); must run inside a
        transaction. Either every event is appended or ConcurrencyConflict is raised."""
        appends = [a for a in appends if a.events]
        if not appends:
            return []
        current = await self._current_versions(conn, [a.stream_id for a in appends])
        now = datetime.now(UTC)
        cols: dict[str, list[Any]] = {k: [] for k in (
            "event_id", "stream_id", "stream_version", "event_type", "schema_version",
            "occurred_at", "actor", "correlation_id", "causation_id", "payload")}
        next_version: dict[str, int] = {}
        for a in appends:
            base = next_version.get(a.stream_id)
            if base is None:
                actual = current.get(a.stream_id, 0)
                if a.expected_version is not None and actual != a.expected_version:
                    raise ConcurrencyConflict(a.stream_id, a.expected_version, actual)
                base = actual
            for i, ev in enumerate(a.events, start=1):
                cols["event_id"].append(uuid4())
                cols["stream_id"].append(a.stream_id)
                cols["stream_version"].append(base + i)
                cols["event_type"].append(ev.event_type)
                cols["schema_version"].append(ev.schema_version)
                cols["occurred_at"].append(a.occurred_at or meta.occurred_at or now)
                cols["actor"].append(a.actor or meta.actor)
                cols["correlation_id"].append(a.correlation_id or meta.correlation_id)
                cols["causation_id"].append(a.causation_id or meta.causation_id)
                cols["payload"].append(ev.model_dump_json())
            next_version[a.stream_id] = base + len(a.events)
        try:
            rows = await conn.fetch(
                f"""
                WITH ins AS (
                    INSERT INTO {self.schema}.events (event_id, stream_id, stream_version,
                        event_type, schema_version, occurred_at, actor, correlation_id,
                        causation_id, payload)
                    SELECT e, s, v, t, sv, o, a, c, ca, p::jsonb
                    FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[],
                                $6::timestamptz[], $7::text[], $8::uuid[], $9::uuid[],
                                $10::text[]) WITH ORDINALITY AS x(e, s, v, t, sv, o, a, c, ca,
                                p, n)
                    ORDER BY n
                    RETURNING {COLUMNS}
                ), out AS (
                    INSERT INTO {self.schema}.outbox (position) SELECT position FROM ins
                )
                SELECT {COLUMNS} FROM ins ORDER BY position
                """,
                cols["event_id"], cols["stream_id"], cols["stream_version"], cols["event_type"],
                cols["schema_version"], cols["occurred_at"], cols["actor"],
                cols["correlation_id"], cols["causation_id"], cols["payload"],
            )
        except asyncpg.UniqueViolationError as exc:
            # A concurrent writer committed the same version between our check and insert.
            stream = _stream_in(exc) or appends[0].stream_id
            expected = next((a.expected_version for a in appends if a.stream_id == stream), None)
            raise ConcurrencyConflict(stream, expected, None) from exc
        await conn.execute("SELECT pg_notify($1, '')", self.notify_channel)
        return [envelope_from_row(r, self.source) for r in rows]

    async def _current_versions(self, conn: asyncpg.Connection,
                                stream_ids: list[str]) -> dict[str, int]:
        if not stream_ids:
            return {}
        rows = await conn.fetch(
            f"SELECT stream_id, max(stream_version) AS v FROM {self.schema}.events "
            "WHERE stream_id = ANY($1::text[]) GROUP BY stream_id", list(set(stream_ids)))
        return {r["stream_id"]: r["v"] for r in rows}


def _stream_in(exc: asyncpg.UniqueViolationError) -> str | None:
    detail = getattr(exc, "detail", "") or ""
    # e.g. Key (stream_id, stream_version)=(teacher-..., 3) already exists.
    if detail.startswith("Key (stream_id, stream_version)=("):
        inner = detail.split("=(", 1)[1]
        return inner.rsplit(", ", 1)[0]
    return None


class UnitOfWork:
    """One transaction on one pooled connection: `async with UnitOfWork(pool) as uow:`.

    Commits when the block ends normally, rolls back on any exception.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None
        self._tx: Any = None

    @property
    def conn(self) -> asyncpg.Connection:
        assert self._conn is not None, "UnitOfWork used outside 'async with'"
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._pool.acquire()
        self._tx = self._conn.transaction()
        await self._tx.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if et is None:
                await self._tx.commit()
            else:
                await self._tx.rollback()
        finally:
            await self._pool.release(self.conn)
            self._conn = None
