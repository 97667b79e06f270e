"""Writes reporting's projection in PostgreSQL: entity timelines (history tables with validity
intervals in business time), baselines, sign-offs, confirmation events, restructuring batches.

Timelines: an event's *sort key* orders it in its entity's history (occurred_at, then recorded_at,
source, stream and version: total and deterministic). Stored as fixed-width text compared with
the "C" collation, so Python and PostgreSQL order keys identically. The common case is an event
later than everything the entity has seen: close the current version at occurred_at and open the
next (or update it in place when it started at that same instant). A late event (out of
business-time order, possible across streams) rebuilds that entity's versions from all its
facts with the same fold. Either way the result depends only on the set of events applied:
replay equals live.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.reporting.domain.history import (
    EntityFact,
    SchoolState,
    TeacherState,
    Version,
    fold,
    versions_of,
)
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    BaselineImported,
    CompletenessSignedOff,
    ConfirmationTableExported,
    ConfirmationTableReturned,
    RestructuringBatchAnnounced,
    RestructuringBatchApplied,
)
from shared.db import checked_schema

PROJECTION_TABLES = ("entity_events", "school_versions", "teacher_versions",
                     "baselines", "baseline_chunks", "baseline_rows", "signoffs",
                     "confirmation_events", "restructuring_batches")

# asyncpg writes this datetime as PostgreSQL's 'infinity' (and reads 'infinity' back as it).
_INFINITY = datetime.max.replace(tzinfo=UTC)
_SCHOOL_COLS = tuple(f.name for f in fields(SchoolState))
_TEACHER_COLS = tuple(f.name for f in fields(TeacherState))


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def sort_key(env: Envelope) -> str:
    return (f"{_ts(env.occurred_at)}|{_ts(env.recorded_at)}|{env.source}|{env.stream_id}|"
            f"{env.stream_version:010d}")


def _table(kind: str) -> tuple[str, str, tuple[str, ...]]:
    if kind == "school":
        return "school_versions", "school_code", _SCHOOL_COLS
    return "teacher_versions", "teacher_id", _TEACHER_COLS


def _state_of(kind: str, row: asyncpg.Record) -> SchoolState | TeacherState:
    if kind == "school":
        return SchoolState(**{c: row[c] for c in _SCHOOL_COLS})
    return TeacherState(**{c: row[c] for c in _TEACHER_COLS})


class ProjectionStore:
    def __init__(self, schema: str) -> None:
        self.s = checked_schema(schema)

    # ------------------------------------------------------------------ entity timelines

    async def apply_fact(self, conn: asyncpg.Connection, env: Envelope, ef: EntityFact) -> bool:
        """Fold one school/teacher fact into its entity's history; False if already applied
        (the same place in the same source stream was seen before)."""
        key = sort_key(env)
        table, id_col, cols = _table(ef.kind)
        # Serialise writers of one entity (the live consumer and a replay may run together).
        # Custom plans only: a replay starts on empty tables, and a cached generic plan made
        # then (a sequential scan) would stay in use as the tables grow to province size.
        await conn.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                           "pg_advisory_xact_lock(hashtext($1))",
                           f"{self.s}:{ef.kind}:{ef.entity_id}")
        row = await conn.fetchrow(
            f"""
            WITH ins AS (
                INSERT INTO {self.s}.entity_events (source, stream_id, stream_version,
                    entity_kind, entity_id, occurred_at, recorded_at, event_type, sort_key, fact)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT DO NOTHING RETURNING 1)
            SELECT (SELECT count(*) FROM ins) AS inserted, v.*
            FROM (SELECT 1) one LEFT JOIN {self.s}.{table} v
              ON v.{id_col} = $5 AND v.valid_to = 'infinity'
            """,
            env.source, env.stream_id, env.stream_version, ef.kind, ef.entity_id,
            env.occurred_at, env.recorded_at, env.event_type, key, ef.fact)
        assert row is not None
        if not row["inserted"]:
            return False
        if row["valid_from"] is None:
            # the entity's first fact (a late fact always finds a current version)
            await self._insert_versions(conn, ef.kind, ef.entity_id,
                                        versions_of(ef.kind, [((env.occurred_at, key), ef.fact)]))
        elif key > row["head"]:
            state = fold(ef.kind, _state_of(ef.kind, row), ef.fact)
            values = [getattr(state, c) for c in cols]
            assign = ", ".join(f"{c} = ${i}" for i, c in enumerate(cols, start=4))
            if row["valid_from"] == env.occurred_at:
                await conn.execute(
                    f"UPDATE {self.s}.{table} SET head = $3, {assign} "
                    f"WHERE {id_col} = $1 AND valid_from = $2",
                    ef.entity_id, env.occurred_at, key, *values)
            else:
                await conn.execute(
                    f"""
                    WITH closed AS (
                        UPDATE {self.s}.{table} SET valid_to = $2
                        WHERE {id_col} = $1 AND valid_to = 'infinity')
                    INSERT INTO {self.s}.{table} ({id_col}, valid_from, head, {', '.join(cols)})
                    VALUES ($1, $2, $3, {', '.join(f'${i}' for i in range(4, 4 + len(cols)))})
                    """, ef.entity_id, env.occurred_at, key, *values)
        else:
            await self.rebuild(conn, ef.kind, ef.entity_id)
        return True

    async def rebuild(self, conn: asyncpg.Connection, kind: str, entity_id: str) -> None:
        """Recompute an entity's versions from all its facts (a late event arrived)."""
        rows = await conn.fetch(
            f"SELECT occurred_at, sort_key, fact FROM {self.s}.entity_events "
            "WHERE entity_kind = $1 AND entity_id = $2", kind, entity_id)
        timeline = sorted(((r["occurred_at"], r["sort_key"]), r["fact"]) for r in rows)
        table, id_col, _ = _table(kind)
        await conn.execute(f"DELETE FROM {self.s}.{table} WHERE {id_col} = $1", entity_id)
        await self._insert_versions(conn, kind, entity_id, versions_of(kind, timeline))

    async def _insert_versions(self, conn: asyncpg.Connection, kind: str, entity_id: str,
                               versions: Sequence[Version]) -> None:
        table, id_col, cols = _table(kind)
        records = []
        for i, v in enumerate(versions):
            valid_to = versions[i + 1].valid_from if i + 1 < len(versions) else None
            state = asdict(v.state)
            records.append((entity_id, v.valid_from, valid_to, v.head[1],
                            *(state[c] for c in cols)))
        await conn.executemany(
            f"INSERT INTO {self.s}.{table} ({id_col}, valid_from, valid_to, head, "
            f"{', '.join(cols)}) VALUES ($1, $2, COALESCE($3, 'infinity'::timestamptz), $4, "
            f"{', '.join(f'${i}' for i in range(5, 5 + len(cols)))})", records)

    async def bulk_versions(self, conn: asyncpg.Connection, kind: str,
                            records: Sequence[tuple[Any, ...]]) -> None:
        """COPY ready-made versions (id, valid_from, valid_to, head, *state columns in
        dataclass order) into a history table: for loading a province-sized projection
        quickly (bench/reporting_asof.py); valid_to None means current."""
        table, id_col, cols = _table(kind)
        await conn.copy_records_to_table(
            table, schema_name=self.s, columns=[id_col, "valid_from", "valid_to", "head", *cols],
            records=[(r[0], r[1], r[2] if r[2] is not None else _INFINITY, *r[3:])
                     for r in records])

    # ------------------------------------------------------------------ reporting's own events

    async def add_baseline_chunk(self, conn: asyncpg.Connection, env: Envelope,
                                 p: BaselineImported) -> None:
        await conn.execute(
            f"INSERT INTO {self.s}.baselines (baseline_id, kind, year, chunks, imported_at, "
            "recorded_at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            p.baseline_id, str(p.kind), p.year, p.chunks, env.occurred_at, env.recorded_at,
            env.actor)
        fresh = await conn.fetchval(
            f"INSERT INTO {self.s}.baseline_chunks (baseline_id, chunk) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING RETURNING 1", p.baseline_id, p.chunk)
        if not fresh:
            return
        await conn.executemany(
            f"INSERT INTO {self.s}.baseline_rows (baseline_id, chunk, row_no, level, code, name, "
            "stage, schools, teaching_points, staff, fulltime, is_total) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            [(p.baseline_id, p.chunk, i, r.level, r.code, r.name,
              str(r.stage) if r.stage else None, r.schools, r.teaching_points, r.staff,
              r.fulltime, r.is_total) for i, r in enumerate(p.rows)])

    async def add_signoff(self, conn: asyncpg.Connection, env: Envelope,
                          p: CompletenessSignedOff) -> None:
        await conn.execute(
            f"INSERT INTO {self.s}.signoffs (event_id, county_code, city_code, occurred_at, "
            "recorded_at, actor, agrees, schools_system, staff_system, schools_base, staff_base, "
            "explanation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            "ON CONFLICT DO NOTHING",
            env.event_id, p.county_code, p.city_code, env.occurred_at, env.recorded_at,
            env.actor, p.agrees, p.schools_system, p.staff_system, p.schools_base, p.staff_base,
            p.explanation)

    async def add_confirmation(self, conn: asyncpg.Connection, env: Envelope,
                               p: ConfirmationTableExported | ConfirmationTableReturned) -> None:
        exported = isinstance(p, ConfirmationTableExported)
        await conn.execute(
            f"INSERT INTO {self.s}.confirmation_events (event_id, school_code, occurred_at, "
            "recorded_at, kind, format, signed, teacher_ids) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            env.event_id, p.school_code, env.occurred_at, env.recorded_at,
            "exported" if exported else "returned",
            p.format if isinstance(p, ConfirmationTableExported) else None,
            None if isinstance(p, ConfirmationTableExported) else p.signed, list(p.teacher_ids))

    async def add_batch(self, conn: asyncpg.Connection, env: Envelope,
                        p: RestructuringBatchAnnounced | RestructuringBatchApplied) -> None:
        ops = [json.loads(o.model_dump_json()) for o in p.operations]
        if isinstance(p, RestructuringBatchAnnounced):
            await conn.execute(
                f"""
                INSERT INTO {self.s}.restructuring_batches AS b (batch_id, announced_at,
                    effective_date, announced_ops, announced_head)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (batch_id) DO UPDATE SET
                    announced_at = LEAST(b.announced_at, excluded.announced_at),
                    effective_date = COALESCE(b.effective_date, excluded.effective_date),
                    announced_ops = CASE WHEN b.announced_head IS NULL
                        OR b.announced_head < excluded.announced_head
                        THEN excluded.announced_ops ELSE b.announced_ops END,
                    announced_head = GREATEST(b.announced_head, excluded.announced_head)
                """, p.batch_id, env.occurred_at, p.effective_date, ops, sort_key(env))
        else:
            await conn.execute(
                f"""
                INSERT INTO {self.s}.restructuring_batches AS b (batch_id, applied_at,
                    effective_date, applied_ops)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (batch_id) DO UPDATE SET
                    applied_at = LEAST(b.applied_at, excluded.applied_at),
                    effective_date = excluded.effective_date,
                    applied_ops = excluded.applied_ops
                """, p.batch_id, env.occurred_at, p.effective_date, ops)

    # ------------------------------------------------------------------ replay

    async def truncate(self, conn: asyncpg.Connection, consumer: str) -> None:
        """Empty every projection table and forget which events the consumer applied."""
        await conn.execute(f"TRUNCATE {', '.join(f'{self.s}.{t}' for t in PROJECTION_TABLES)}")
        await conn.execute(f"DELETE FROM {self.s}.processed_events WHERE consumer = $1", consumer)
