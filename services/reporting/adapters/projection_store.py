"""Writes reporting's projection in PostgreSQL: entity timelines (history tables with validity
intervals in business time; adapters/timelines.py folds facts into them, set-based), baselines,
sign-offs, confirmation events, restructuring batches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.reporting.adapters.timelines import INFINITY, TABLES, TimelineWriter, sort_key
from services.reporting.domain.history import EntityFact
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    BaselineImported,
    CollectionRoundOpened,
    CompletenessSignedOff,
    ConfirmationTableExported,
    ConfirmationTableReturned,
    LaggardNoticeRead,
    LaggardNoticeSent,
    RestructuringBatchAnnounced,
    RestructuringBatchApplied,
)
from shared.db import checked_schema

PROJECTION_TABLES = ("entity_events", "school_versions", "teacher_versions",
                     "baselines", "baseline_chunks", "baseline_rows", "signoffs",
                     "confirmation_events", "restructuring_batches", "rounds", "notices")


class ProjectionStore:
    def __init__(self, schema: str) -> None:
        self.s = checked_schema(schema)
        self.timelines = TimelineWriter(self.s)

    # ------------------------------------------------------------------ entity timelines

    async def apply_facts(self, conn: asyncpg.Connection,
                          items: Sequence[tuple[Envelope, EntityFact]]) -> int:
        """Fold school/teacher facts into their entities' histories (set-based, see
        adapters/timelines.py); returns how many were new."""
        return await self.timelines.apply(conn, items)

    async def bulk_versions(self, conn: asyncpg.Connection, kind: str,
                            records: Sequence[tuple[Any, ...]]) -> None:
        """COPY ready-made versions (id, valid_from, valid_to, head, *state columns in
        dataclass order) into a history table: for loading a province-sized projection
        quickly (bench/reporting_asof.py); valid_to None means current."""
        table = TABLES[kind]
        await conn.copy_records_to_table(
            table.name, schema_name=self.s,
            columns=[table.id_col, "valid_from", "valid_to", "head", *table.cols],
            records=[(r[0], r[1], r[2] if r[2] is not None else INFINITY, *r[3:])
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

    async def add_round(self, conn: asyncpg.Connection, env: Envelope,
                        p: CollectionRoundOpened) -> None:
        await conn.execute(
            f"INSERT INTO {self.s}.rounds (round_id, title, entry_due, report_due, "
            "entry_target, review_target, opened_at, opened_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            p.round_id, p.title, p.entry_due, p.report_due, p.entry_target, p.review_target,
            env.occurred_at, env.actor)

    async def add_notice(self, conn: asyncpg.Connection, env: Envelope,
                         p: LaggardNoticeSent) -> None:
        await conn.execute(
            f"INSERT INTO {self.s}.notices (notice_id, round_id, level, unit_code, unit_name, "
            "city_code, county_code, message, staff_rate, review_rate, sent_at, sent_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
            p.notice_id, p.round_id, p.level, p.unit_code, p.unit_name, p.city_code,
            p.county_code, p.message, p.staff_rate, p.review_rate, env.occurred_at, env.actor)

    async def mark_notice_read(self, conn: asyncpg.Connection, env: Envelope,
                               p: LaggardNoticeRead) -> None:
        """The first reading counts (a redelivered or a second reading changes nothing); the
        notice's own event comes first on its stream, so the row is there."""
        await conn.execute(
            f"UPDATE {self.s}.notices SET read_at = $2, read_by = $3 "
            "WHERE notice_id = $1 AND (read_at IS NULL OR read_at > $2)",
            p.notice_id, env.occurred_at, env.actor)

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
