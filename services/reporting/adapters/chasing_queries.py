"""Reads of the chasing tables (催报: rounds and reminders), which the projection folds from
reporting's own events (adapters/projection_store.py)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.reporting.domain.chasing import Round
from shared.db import checked_schema

_NOTICE = ("notice_id, round_id, level, unit_code, unit_name, city_code, county_code, message, "
           "staff_rate, review_rate, sent_at, sent_by, read_at, read_by")


def round_of(row: asyncpg.Record) -> Round:
    return Round(row["round_id"], row["title"], row["entry_due"], row["report_due"],
                 row["entry_target"], row["review_target"])


class ChasingQueries:
    def __init__(self, schema: str) -> None:
        self.s = checked_schema(schema)

    async def rounds(self, conn: asyncpg.Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch(f"SELECT * FROM {self.s}.rounds ORDER BY opened_at DESC")
        return [dict(r) for r in rows]

    async def round(self, conn: asyncpg.Connection, round_id: str | None) -> Round | None:
        """The round named, or the newest one when None."""
        row = await conn.fetchrow(
            f"SELECT * FROM {self.s}.rounds WHERE $1::text IS NULL OR round_id = $1 "
            "ORDER BY opened_at DESC LIMIT 1", round_id)
        return round_of(row) if row else None

    async def notice(self, conn: asyncpg.Connection, notice_id: str) -> dict[str, Any] | None:
        row = await conn.fetchrow(
            f"SELECT {_NOTICE} FROM {self.s}.notices WHERE notice_id = $1", notice_id)
        return dict(row) if row else None

    async def sent(self, conn: asyncpg.Connection, *, city_code: str | None,
                   county_code: str | None, round_id: str | None, limit: int
                   ) -> list[dict[str, Any]]:
        """Reminders to units inside a region (all of the province when both are None)."""
        rows = await conn.fetch(
            f"SELECT {_NOTICE} FROM {self.s}.notices "
            "WHERE ($1::text IS NULL OR city_code = $1) AND ($2::text IS NULL OR county_code = $2) "
            "AND ($3::text IS NULL OR round_id = $3) ORDER BY sent_at DESC LIMIT $4",
            city_code, county_code, round_id, limit)
        return [dict(r) for r in rows]

    async def to_unit(self, conn: asyncpg.Connection, level: str, unit_code: str, *,
                      unread_only: bool, limit: int) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            f"SELECT {_NOTICE} FROM {self.s}.notices WHERE level = $1 AND unit_code = $2 "
            "AND (NOT $3 OR read_at IS NULL) ORDER BY sent_at DESC LIMIT $4",
            level, unit_code, unread_only, limit)
        return [dict(r) for r in rows]

    async def per_unit(self, conn: asyncpg.Connection, level: str, round_id: str | None
                       ) -> dict[str, dict[str, Any]]:
        """Per unit of a level: reminders sent (in the round), the last one and its reading."""
        rows = await conn.fetch(
            f"SELECT DISTINCT ON (unit_code) unit_code, sent_at AS last_sent_at, "
            "read_at AS last_read_at, count(*) OVER (PARTITION BY unit_code) AS sent "
            f"FROM {self.s}.notices WHERE level = $1 AND ($2::text IS NULL OR round_id = $2) "
            "ORDER BY unit_code, sent_at DESC", level, round_id)
        return {r["unit_code"]: dict(r) for r in rows}
