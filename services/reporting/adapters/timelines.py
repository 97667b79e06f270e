"""Folds a batch of school/teacher facts into the history tables with set-based SQL.

A batch costs a handful of round trips whatever its size (the consumer hands over up to a
Kafka batch of events in one transaction): one statement locks every entity the batch touches,
a COPY into a staging table and one INSERT put its facts into `entity_events` (a fact already
there, i.e. the same place in the same source stream, is a duplicate and ignored), one SELECT
reads the touched entities' current versions, and per history table at most one DELETE, one
UPDATE and one COPY write the result.

Per entity, the fresh facts are sorted by their sort key. When they all sort after the
entity's current version (the common case: events arrive in business-time order per entity),
they are folded onto that version: it is closed (or changed in place when a fact shares its
instant) and the next versions are opened. When one of them is late (out of business-time
order, possible across streams and topics, and common in a replay, which reads every topic at
once) the entity's versions are rebuilt from all its facts. Both ways use the one fold of
domain/history.py, so the tables depend only on the set of events applied, not on how they
were split into batches or ordered within one: replay equals live.

Sort keys: an event's place in its entity's history (occurred_at, then recorded_at, source,
stream and version: total and deterministic), stored as fixed-width text compared with the "C"
collation, so Python and PostgreSQL order keys identically.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.reporting.domain.history import (
    EntityFact,
    SchoolState,
    TeacherState,
    Version,
    extend_versions,
    versions_of,
)
from shared.contracts.envelope import Envelope

# asyncpg writes this datetime as PostgreSQL's 'infinity' (and reads 'infinity' back as it).
INFINITY = datetime.max.replace(tzinfo=UTC)
# Emptied at every commit (and gone with a rollback); temporary tables are per session, so
# each pooled connection has its own.
_STAGING = "reporting_facts_in"
_STAGING_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (source text, stream_id text, "
    "stream_version integer, entity_kind text, entity_id text, occurred_at timestamptz, "
    "recorded_at timestamptz, event_type text, sort_key text, fact text) "
    "ON COMMIT DELETE ROWS")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_PG_TYPES = {"str | None": "text", "bool": "boolean", "float": "real", "int": "integer"}


@dataclass(frozen=True)
class HistoryTable:
    """A history table: its name, id column, and state columns (the state dataclass's fields,
    in order) with their SQL types."""

    name: str
    id_col: str
    state: type[SchoolState] | type[TeacherState]

    @property
    def cols(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self.state))

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(_PG_TYPES[str(f.type)] for f in fields(self.state))

    def state_of(self, row: asyncpg.Record) -> SchoolState | TeacherState:
        return self.state(**{c: row[c] for c in self.cols})


_FIELDS = {t: tuple(f.name for f in fields(t)) for t in (SchoolState, TeacherState)}
TABLES = {"school": HistoryTable("school_versions", "school_code", SchoolState),
          "teacher": HistoryTable("teacher_versions", "teacher_id", TeacherState)}


def _ts(value: datetime) -> str:
    # strftime("%Y-%m-%dT%H:%M:%S.%f") of the UTC time (the keys' format from the start) for
    # years 1000-9999, at half the cost: timedelta arithmetic is exact to the microsecond
    return (_EPOCH_NAIVE + (value - _EPOCH)).isoformat(timespec="microseconds")


def sort_key(env: Envelope) -> str:
    return (f"{_ts(env.occurred_at)}|{_ts(env.recorded_at)}|{env.source}|{env.stream_id}|"
            f"{env.stream_version:010d}")


@dataclass(frozen=True)
class _Fact:
    env: Envelope
    entity: EntityFact
    key: str

    @property
    def place(self) -> tuple[str, str, int]:
        return self.env.source, self.env.stream_id, self.env.stream_version

    @property
    def timeline_item(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.env.occurred_at, self.key), self.entity.fact


def fact_json(entity: EntityFact) -> str:
    """The fact as stored in entity_events: its fields, and the core record under "record"
    (serialised by pydantic straight to JSON: a dict round trip costs more than the rest of
    the event's handling)."""
    text = json.dumps(entity.fact, ensure_ascii=False)
    if entity.record is None:
        return text
    return f'{text[:-1]}, "record": {entity.record.model_dump_json()}}}'


def _values(state: SchoolState | TeacherState) -> tuple[Any, ...]:
    # dataclasses.astuple deep-copies every field: ten times slower, and nothing to copy here
    return tuple(getattr(state, c) for c in _FIELDS[type(state)])


def version_records(entity_id: str, versions: Sequence[Version]) -> list[tuple[Any, ...]]:
    """Rows (id, valid_from, valid_to, head, *state) for an entity's consecutive versions:
    each is valid until the next one starts, the last one for good (valid_to 'infinity')."""
    out = []
    for i, v in enumerate(versions):
        valid_to = versions[i + 1].valid_from if i + 1 < len(versions) else INFINITY
        out.append((entity_id, v.valid_from, valid_to, v.head[1], *_values(v.state)))
    return out


class TimelineWriter:
    def __init__(self, schema: str) -> None:
        self.s = schema

    async def apply(self, conn: asyncpg.Connection,
                    items: Sequence[tuple[Envelope, EntityFact]]) -> int:
        """Fold facts into their entities' histories; returns how many were new (a fact whose
        place in its source stream was seen before, in this batch or earlier, is ignored)."""
        facts: dict[tuple[str, str, int], _Fact] = {}
        for env, entity in items:  # the first delivery of a place wins, as it would alone
            fact = _Fact(env, entity, sort_key(env))
            facts.setdefault(fact.place, fact)
        if not facts:
            return 0
        await self._lock(conn, {(f.entity.kind, f.entity.entity_id) for f in facts.values()})
        fresh = await self._insert_facts(conn, list(facts.values()))
        by_entity: dict[str, dict[str, list[_Fact]]] = {"school": defaultdict(list),
                                                        "teacher": defaultdict(list)}
        for fact in fresh:
            by_entity[fact.entity.kind][fact.entity.entity_id].append(fact)
        for kind, entities in by_entity.items():
            if entities:
                await self._fold(conn, TABLES[kind], kind, entities)
        return len(fresh)

    async def _lock(self, conn: asyncpg.Connection, entities: set[tuple[str, str]]) -> None:
        # Serialise writers of one entity (the live consumer and a replay may run together):
        # every lock of the batch in one statement, in one global order (by lock id), so two
        # batches never wait on each other in a cycle. The lock id is the one a single event
        # always took: hashtext('<schema>:<kind>:<id>').
        # Plans: every statement of the batch looks rows up by key (a thousand ids at a time).
        # Left alone, the planner prices a thousand index probes above one sequential scan
        # (and a hash join over it) of a history table a few hundred thousand rows long, so
        # each batch would read the whole table: quadratic over a province. Transaction-local
        # settings keep it on the indexes; custom plans only, because a replay starts on empty
        # tables and a cached generic plan made then would stay in use as they grow.
        await conn.execute(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
            "set_config('enable_seqscan', 'off', true), "
            "set_config('enable_hashjoin', 'off', true), "
            "set_config('enable_mergejoin', 'off', true), "
            "(SELECT count(pg_advisory_xact_lock(h)) FROM "
            " (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) l)",
            [f"{self.s}:{kind}:{entity_id}" for kind, entity_id in entities])

    async def _insert_facts(self, conn: asyncpg.Connection, facts: list[_Fact]) -> list[_Fact]:
        # COPY into a session-local staging table, then one INSERT ... ON CONFLICT: a third of
        # the client-side cost of binding ten arrays. The fact travels as text and becomes
        # jsonb in the INSERT (COPY's binary format has no encoder for the pool's jsonb codec).
        await conn.execute(_STAGING_DDL)
        await conn.copy_records_to_table(_STAGING, records=[
            (f.env.source, f.env.stream_id, f.env.stream_version, f.entity.kind,
             f.entity.entity_id, f.env.occurred_at, f.env.recorded_at, f.env.event_type, f.key,
             fact_json(f.entity)) for f in facts])
        rows = await conn.fetch(
            f"""
            INSERT INTO {self.s}.entity_events (source, stream_id, stream_version, entity_kind,
                entity_id, occurred_at, recorded_at, event_type, sort_key, fact)
            SELECT source, stream_id, stream_version, entity_kind, entity_id, occurred_at,
                   recorded_at, event_type, sort_key, fact::jsonb
            FROM {_STAGING}
            ON CONFLICT DO NOTHING
            RETURNING source, stream_id, stream_version
            """)
        inserted = {(r["source"], r["stream_id"], r["stream_version"]) for r in rows}
        return [f for f in facts if f.place in inserted]

    async def _fold(self, conn: asyncpg.Connection, table: HistoryTable, kind: str,
                    entities: dict[str, list[_Fact]]) -> None:
        current = {r[table.id_col]: r for r in await conn.fetch(
            f"SELECT * FROM {self.s}.{table.name} "
            f"WHERE {table.id_col} = ANY($1::text[]) AND valid_to = 'infinity'",
            list(entities))}
        updates: list[tuple[Any, ...]] = []
        inserts: list[tuple[Any, ...]] = []
        late: list[str] = []
        for entity_id, facts in entities.items():
            facts.sort(key=lambda f: f.key)
            row = current.get(entity_id)
            timeline = [f.timeline_item for f in facts]
            if row is None:  # a new entity (one with facts always has a current version)
                inserts += version_records(entity_id, versions_of(kind, timeline))
            elif facts[0].key > row["head"]:  # in order: continue from the current version
                head = Version(row["valid_from"], table.state_of(row),
                               (row["valid_from"], row["head"]))
                versions = extend_versions(kind, head, timeline)
                records = version_records(entity_id, versions)
                updates.append(records[0])
                inserts += records[1:]
            else:
                late.append(entity_id)
        if late:
            inserts += await self._rebuilt(conn, kind, late)
            await conn.execute(f"DELETE FROM {self.s}.{table.name} "
                               f"WHERE {table.id_col} = ANY($1::text[])", late)
        if updates:
            await self._update(conn, table, updates)
        if inserts:
            await conn.copy_records_to_table(
                table.name, schema_name=self.s,
                columns=[table.id_col, "valid_from", "valid_to", "head", *table.cols],
                records=inserts)

    async def _rebuilt(self, conn: asyncpg.Connection, kind: str,
                       entity_ids: list[str]) -> list[tuple[Any, ...]]:
        """Every version of entities that received a late fact, recomputed from all their
        facts (those of this batch included: they are in entity_events already)."""
        timelines: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
        for r in await conn.fetch(
                f"SELECT entity_id, occurred_at, sort_key, fact FROM {self.s}.entity_events "
                "WHERE entity_kind = $1 AND entity_id = ANY($2::text[])", kind, entity_ids):
            timelines[r["entity_id"]].append(((r["occurred_at"], r["sort_key"]), r["fact"]))
        out: list[tuple[Any, ...]] = []
        for entity_id in entity_ids:
            out += version_records(entity_id, versions_of(kind, sorted(
                timelines[entity_id], key=lambda item: item[0])))
        return out

    async def _update(self, conn: asyncpg.Connection, table: HistoryTable,
                      records: list[tuple[Any, ...]]) -> None:
        """Rewrite entities' (formerly) current versions in place: new end, head and state."""
        cols = ("id", "valid_from", "valid_to", "head", *table.cols)
        types = ("text", "timestamptz", "timestamptz", "text", *table.types)
        assign = ", ".join(f"{c} = u.{c}" for c in ("valid_to", "head", *table.cols))
        arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
        await conn.execute(
            f"UPDATE {self.s}.{table.name} AS v SET {assign} "
            f"FROM unnest({arrays}) AS u({', '.join(cols)}) "
            f"WHERE v.{table.id_col} = u.id AND v.valid_from = u.valid_from",
            *(list(column) for column in zip(*records, strict=True)))
