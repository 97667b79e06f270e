"""Orgsync's view of the school registry in PostgreSQL (tables registry_schools and
registry_teachers of the orgsync schema).

Two writers: the registry projection, following intake's school and teacher events (an event at
or below the stream version already applied is ignored, so replays and redeliveries are
harmless), and `apply_plan`, which brings the view forward in the transaction that appends a
batch's Applied event, so the next plan sees the batch before intake has followed it. Both
arrive at the same state: intake follows the batch with exactly these changes.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from services.orgsync.domain.model import Batch, Counts, RegistrySnapshot, SchoolState
from services.orgsync.domain.planning import Plan
from shared.contracts.events import SchoolProfile
from shared.contracts.vocabulary import ReportingLine, Stage
from shared.db import checked_schema

PROFILE_COLUMNS = ("name", "stage", "is_teaching_point", "county_code", "city_code",
                   "reporting_line", "is_rural")


class RegistryStore:
    def __init__(self, schema: str) -> None:
        self.schema = checked_schema(schema)

    # ------------------------------------------------------------------ reads

    async def snapshot(self, conn: asyncpg.Connection, batch: Batch) -> RegistrySnapshot:
        """The schools `batch` names with their teacher counts, and the counts of every county
        it touches (where those schools are, and where it moves or opens schools)."""
        schools = await self.schools(conn, batch.school_codes())
        counties = {s.profile.county_code for s in schools.values()} | batch.county_codes()
        return RegistrySnapshot(schools, await self.counts(conn, counties))

    async def schools(self, conn: asyncpg.Connection, codes: Iterable[str]
                      ) -> dict[str, SchoolState]:
        rows = await conn.fetch(
            f"""
            SELECT s.*, coalesce(t.in_post, 0) AS in_post, coalesce(t.attached, 0) AS attached
            FROM {self.schema}.registry_schools s
            LEFT JOIN (SELECT school_code, count(*) FILTER (WHERE in_post) AS in_post,
                              count(*) AS attached
                       FROM {self.schema}.registry_teachers
                       WHERE active AND school_code = ANY($1::text[])
                       GROUP BY school_code) t ON t.school_code = s.code
            WHERE s.code = ANY($1::text[])
            """, list(codes))
        return {r["code"]: SchoolState(r["code"], _profile(r), r["open"], r["in_post"],
                                       r["attached"], r["merged_into"]) for r in rows}

    async def counts(self, conn: asyncpg.Connection, counties: Iterable[str]
                     ) -> dict[tuple[str, Stage], Counts]:
        rows = await conn.fetch(
            f"""
            WITH s AS (SELECT code, county_code, stage, is_teaching_point
                       FROM {self.schema}.registry_schools
                       WHERE open AND county_code = ANY($1::text[])),
                 t AS (SELECT school_code, count(*) AS n FROM {self.schema}.registry_teachers
                       WHERE active AND in_post AND school_code IN (SELECT code FROM s)
                       GROUP BY school_code)
            SELECT s.county_code, s.stage, count(*) AS schools,
                   count(*) FILTER (WHERE t.n > 0) AS entered,
                   count(*) FILTER (WHERE s.is_teaching_point) AS teaching_points,
                   coalesce(sum(t.n), 0)::bigint AS staff
            FROM s LEFT JOIN t ON t.school_code = s.code
            GROUP BY s.county_code, s.stage
            """, list(counties))
        return {(r["county_code"], Stage(r["stage"])): Counts(
            r["schools"], r["entered"], r["teaching_points"], int(r["staff"])) for r in rows}

    async def stages(self, conn: asyncpg.Connection, codes: Iterable[str]) -> dict[str, Stage]:
        rows = await conn.fetch(
            f"SELECT code, stage FROM {self.schema}.registry_schools WHERE code = ANY($1::text[])",
            list(codes))
        return {r["code"]: Stage(r["stage"]) for r in rows}

    async def totals(self, conn: asyncpg.Connection) -> dict[str, int]:
        row = await conn.fetchrow(
            f"""SELECT (SELECT count(*) FROM {self.schema}.registry_schools) AS schools,
                       (SELECT count(*) FROM {self.schema}.registry_schools WHERE open)
                           AS open_schools,
                       (SELECT count(*) FROM {self.schema}.registry_teachers WHERE active)
                           AS teachers,
                       (SELECT count(*) FROM {self.schema}.registry_teachers
                        WHERE active AND in_post) AS in_post""")
        return dict(row) if row else {}

    # ------------------------------------------------------------------ a batch, applied

    async def apply_plan(self, conn: asyncpg.Connection, plan: Plan) -> None:
        """Bring the view forward by an applied batch (the caller's transaction)."""
        final = list(plan.final.values())
        if final:
            await conn.execute(
                f"""
                INSERT INTO {self.schema}.registry_schools AS r (code, name, stage,
                    is_teaching_point, county_code, city_code, reporting_line, is_rural, open,
                    merged_into)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[],
                                     $5::text[], $6::text[], $7::text[], $8::bool[],
                                     $9::bool[], $10::text[])
                ON CONFLICT (code) DO UPDATE SET name = excluded.name, stage = excluded.stage,
                    is_teaching_point = excluded.is_teaching_point,
                    county_code = excluded.county_code, city_code = excluded.city_code,
                    reporting_line = excluded.reporting_line, is_rural = excluded.is_rural,
                    open = excluded.open, merged_into = excluded.merged_into,
                    updated_at = now()
                """,
                [f.code for f in final], [f.profile.name for f in final],
                [f.profile.stage.value for f in final],
                [f.profile.is_teaching_point for f in final],
                [f.profile.county_code for f in final], [f.profile.city_code for f in final],
                [f.profile.reporting_line.value for f in final],
                [f.profile.is_rural for f in final], [f.open for f in final],
                [f.merged_into for f in final])
        if plan.moves:
            await conn.execute(
                f"""
                UPDATE {self.schema}.registry_teachers t
                SET school_code = m.dst, updated_at = now()
                FROM unnest($1::text[], $2::text[]) AS m(src, dst)
                WHERE t.school_code = m.src AND t.active
                """, [m.from_code for m in plan.moves], [m.to_code for m in plan.moves])

    # ------------------------------------------------------------------ intake's events

    async def put_school(self, conn: asyncpg.Connection, code: str, profile: SchoolProfile,
                         version: int, *, reopen: bool) -> None:
        """SchoolRegistered (`reopen`: the school is open) or SchoolChanged (profile only)."""
        await conn.execute(
            f"""
            INSERT INTO {self.schema}.registry_schools AS r (code, name, stage,
                is_teaching_point, county_code, city_code, reporting_line, is_rural, open,
                stream_version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
            ON CONFLICT (code) DO UPDATE SET name = $2, stage = $3, is_teaching_point = $4,
                county_code = $5, city_code = $6, reporting_line = $7, is_rural = $8,
                open = CASE WHEN $10 THEN true ELSE r.open END,
                merged_into = CASE WHEN $10 THEN NULL ELSE r.merged_into END,
                stream_version = $9, updated_at = now()
            WHERE r.stream_version < $9
            """, code, profile.name, profile.stage.value, profile.is_teaching_point,
            profile.county_code, profile.city_code, profile.reporting_line.value,
            profile.is_rural, version, reopen)

    async def close_school(self, conn: asyncpg.Connection, code: str, merged_into: str | None,
                           version: int) -> bool:
        """SchoolClosed; False when the school is unknown (nothing to close)."""
        status = await conn.execute(
            f"""UPDATE {self.schema}.registry_schools SET open = false, merged_into = $2,
                    stream_version = $3, updated_at = now()
                WHERE code = $1 AND stream_version < $3""", code, merged_into, version)
        if status.endswith(" 0"):
            return bool(await conn.fetchval(
                f"SELECT true FROM {self.schema}.registry_schools WHERE code = $1", code))
        return True

    async def put_teacher(self, conn: asyncpg.Connection, teacher_id: str, school_code: str,
                          version: int, *, in_post: bool | None = None,
                          active: bool | None = None) -> None:
        """Any teacher event: the school is always known; `in_post` / `active` when the event
        says (None keeps what we have; a teacher first seen defaults to in post, active)."""
        await conn.execute(
            f"""
            INSERT INTO {self.schema}.registry_teachers AS t (teacher_id, school_code, in_post,
                active, stream_version)
            VALUES ($1, $2, coalesce($3, true), coalesce($4, true), $5)
            ON CONFLICT (teacher_id) DO UPDATE SET school_code = $2,
                in_post = coalesce($3, t.in_post), active = coalesce($4, t.active),
                stream_version = $5, updated_at = now()
            WHERE t.stream_version < $5
            """, teacher_id, school_code, in_post, active, version)


def _profile(row: asyncpg.Record) -> SchoolProfile:
    return SchoolProfile(name=row["name"], stage=Stage(row["stage"]),
                         is_teaching_point=row["is_teaching_point"],
                         county_code=row["county_code"], city_code=row["city_code"],
                         reporting_line=ReportingLine(row["reporting_line"]),
                         is_rural=row["is_rural"])
