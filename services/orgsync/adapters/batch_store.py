"""The batches table: every batch announced or applied, written in the transaction that
appends the batch's event (so it never disagrees with the batch streams)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.orgsync.domain.model import Batch
from shared.contracts.events import RestructuringOperation
from shared.db import checked_schema


class BatchStore:
    def __init__(self, schema: str) -> None:
        self.schema = checked_schema(schema)

    async def record_announced(self, conn: asyncpg.Connection, batch: Batch, actor: str,
                               at: datetime) -> None:
        await conn.execute(
            f"""
            INSERT INTO {self.schema}.batches (batch_id, fingerprint, effective_date, status,
                operations, op_count, announced_at, announced_by)
            VALUES ($1, $2, $3, 'announced', $4, $5, $6, $7)
            ON CONFLICT (batch_id) DO NOTHING
            """, batch.batch_id, batch.fingerprint(), batch.effective_date, _ops(batch),
            len(batch.operations), at, actor)

    async def record_applied(self, conn: asyncpg.Connection, batch: Batch, actor: str,
                             at: datetime, teachers_to_move: int,
                             summary: dict[str, Any]) -> None:
        await conn.execute(
            f"""
            INSERT INTO {self.schema}.batches (batch_id, fingerprint, effective_date, status,
                operations, op_count, teachers_to_move, applied_at, applied_by, plan_summary)
            VALUES ($1, $2, $3, 'applied', $4, $5, $6, $7, $8, $9)
            ON CONFLICT (batch_id) DO UPDATE SET status = 'applied', operations = $4,
                teachers_to_move = $6, applied_at = $7, applied_by = $8, plan_summary = $9
            """, batch.batch_id, batch.fingerprint(), batch.effective_date, _ops(batch),
            len(batch.operations), teachers_to_move, at, actor, summary)

    async def get(self, conn: asyncpg.Connection, batch_id: str) -> dict[str, Any] | None:
        row = await conn.fetchrow(f"SELECT * FROM {self.schema}.batches WHERE batch_id = $1",
                                  batch_id)
        return _jsonable(dict(row)) if row else None

    async def listing(self, conn: asyncpg.Connection, status: str | None = None,
                      limit: int = 200) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            f"""SELECT batch_id, fingerprint, effective_date, status, op_count,
                       teachers_to_move, announced_at, applied_at, announced_by, applied_by
                FROM {self.schema}.batches WHERE $1::text IS NULL OR status = $1
                ORDER BY effective_date DESC, batch_id LIMIT $2""", status, limit)
        return [_jsonable(dict(r)) for r in rows]

    async def pending(self, conn: asyncpg.Connection) -> list[tuple[Batch, datetime | None]]:
        rows = await conn.fetch(
            f"""SELECT batch_id, effective_date, operations, announced_at
                FROM {self.schema}.batches WHERE status = 'announced'
                ORDER BY effective_date, batch_id""")
        return [(Batch(r["batch_id"], r["effective_date"],
                       tuple(RestructuringOperation.model_validate(o) for o in r["operations"])),
                 r["announced_at"]) for r in rows]


def _ops(batch: Batch) -> list[dict[str, Any]]:
    return [op.model_dump(mode="json") for op in batch.operations]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
