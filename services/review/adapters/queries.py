"""Read-side SQL over the review projection: queues, one teacher, peers, spot checks.

Region columns (county, city) come from the school registry by join at read time, so a school
that moves county, or a school event that arrives after its teachers', never leaves a stale
copy behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.auth import Region
from shared.contracts.events import SpotCheckSampleDrawn
from shared.db import checked_schema
from shared.domain.divisions import divisions

_SAME_PERSON = (
    "EXISTS (SELECT 1 FROM {s}.items o WHERE o.active AND o.teacher_id <> i.teacher_id "
    "AND o.person_name = i.person_name AND o.person_birth_date = i.person_birth_date "
    "AND o.person_id_masked = i.person_id_masked)"
)


@dataclass(frozen=True)
class QueueFilter:
    statuses: tuple[str, ...] = ()
    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None
    kind: str | None = None
    reporting_lines: tuple[str, ...] = ()  # only schools whose records this bureau reviews
    limit: int = 50
    offset: int = 0


class ReviewQueries:
    def __init__(self, schema: str) -> None:
        self.schema = checked_schema(schema)

    async def queue(self, conn: asyncpg.Connection, f: QueueFilter
                    ) -> tuple[list[asyncpg.Record], int]:
        """One page of active items, oldest submission first, and the total."""
        where = ["i.active"]
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if f.statuses:
            where.append(f"i.status = ANY({arg(list(f.statuses))}::text[])")
        if f.school_code:
            where.append(f"i.school_code = {arg(f.school_code)}")
        if f.county_code:
            where.append(f"s.county_code = {arg(f.county_code)}")
        if f.city_code:
            where.append(f"s.city_code = {arg(f.city_code)}")
        if f.kind:
            where.append(f"i.kind = {arg(f.kind)}")
        if f.reporting_lines:
            where.append(f"s.reporting_line = ANY({arg(list(f.reporting_lines))}::text[])")
        cond = " AND ".join(where)
        base = f"FROM {self.schema}.items i LEFT JOIN {self.schema}.schools s USING (school_code)"
        total = await conn.fetchval(f"SELECT count(*) {base} WHERE {cond}", *args)
        rows = await conn.fetch(
            f"SELECT i.teacher_id, i.school_code, s.name AS school_name, s.county_code, "
            f"s.city_code, i.record ->> 'name' AS name, i.kind, i.status, i.record_version, "
            f"i.submitted_at, i.school_approved_at, i.rejected_level, i.reject_reason, "
            f"i.proof IS NOT NULL AS has_proof, i.hard_failures, i.warnings, "
            f"jsonb_array_length(i.diff) AS changed_fields, "
            f"{_SAME_PERSON.format(s=self.schema)} AS same_person_elsewhere "
            f"{base} WHERE {cond} ORDER BY i.submitted_at, i.teacher_id "
            f"LIMIT {arg(f.limit)} OFFSET {arg(f.offset)}", *args)
        return list(rows), int(total)

    async def item(self, conn: asyncpg.Connection, teacher_id: str) -> asyncpg.Record | None:
        return await conn.fetchrow(
            f"SELECT i.*, s.county_code, s.city_code, s.name AS school_name "
            f"FROM {self.schema}.items i LEFT JOIN {self.schema}.schools s USING (school_code) "
            "WHERE i.teacher_id = $1", teacher_id)

    async def items(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]
                    ) -> list[asyncpg.Record]:
        return list(await conn.fetch(
            f"SELECT * FROM {self.schema}.items WHERE teacher_id = ANY($1::text[])",
            list(teacher_ids)))

    async def same_person(self, conn: asyncpg.Connection, teacher_id: str
                          ) -> list[tuple[str, str]]:
        """(teacher_id, school_code) of other active records of the same person."""
        rows = await conn.fetch(
            f"SELECT o.teacher_id, o.school_code FROM {self.schema}.items i "
            f"JOIN {self.schema}.items o ON o.active AND o.teacher_id <> i.teacher_id "
            "AND o.person_name = i.person_name AND o.person_birth_date = i.person_birth_date "
            "AND o.person_id_masked = i.person_id_masked "
            "WHERE i.teacher_id = $1 ORDER BY o.teacher_id", teacher_id)
        return [(r["teacher_id"], r["school_code"]) for r in rows]

    async def resubmission(self, conn: asyncpg.Connection, teacher_id: str,
                           record_version: int) -> dict[str, Any] | None:
        """The school's latest resubmission of this record version, if it has one and no
        rejection came after it: its note, who sent it, when."""
        row = await conn.fetchrow(
            f"SELECT d.reason AS note, d.actor AS who, d.decided_at AS at "
            f"FROM {self.schema}.decisions d WHERE d.teacher_id = $1 AND d.record_version = $2 "
            "AND d.resubmitted AND NOT EXISTS (SELECT 1 FROM "
            f"{self.schema}.decisions r WHERE r.teacher_id = d.teacher_id "
            "AND r.record_version = d.record_version AND NOT r.approved AND NOT r.resubmitted "
            "AND r.position > d.position) ORDER BY d.position DESC LIMIT 1",
            teacher_id, record_version)
        return dict(row) if row else None

    async def region_of(self, conn: asyncpg.Connection, school_code: str) -> Region | None:
        row = await conn.fetchrow(
            f"SELECT county_code, city_code, reporting_line FROM {self.schema}.schools "
            "WHERE school_code = $1", school_code)
        if row is None:
            return None
        return Region(school_code=school_code, county_code=row["county_code"],
                      city_code=row["city_code"], reporting_line=row["reporting_line"])

    async def regions_of(self, conn: asyncpg.Connection, school_codes: Sequence[str]
                         ) -> dict[str, Region]:
        rows = await conn.fetch(
            f"SELECT school_code, county_code, city_code, reporting_line "
            f"FROM {self.schema}.schools WHERE school_code = ANY($1::text[])", list(school_codes))
        return {r["school_code"]: Region(school_code=r["school_code"],
                                         county_code=r["county_code"],
                                         city_code=r["city_code"],
                                         reporting_line=r["reporting_line"]) for r in rows}

    async def county_region(self, conn: asyncpg.Connection, county_code: str) -> Region:
        """A county with its city: from the school registry, else the divisions table."""
        city = await conn.fetchval(
            f"SELECT city_code FROM {self.schema}.schools WHERE county_code = $1 LIMIT 1",
            county_code)
        return Region(county_code=county_code,
                      city_code=city or divisions().city_of(county_code))

    async def school_approved(self, conn: asyncpg.Connection, county_code: str) -> list[str]:
        """The spot-check population: active school-approved records of a county."""
        rows = await conn.fetch(
            f"SELECT i.teacher_id FROM {self.schema}.items i JOIN {self.schema}.schools s "
            "USING (school_code) WHERE i.active AND i.status = 'school_approved' "
            "AND s.county_code = $1 ORDER BY i.teacher_id", county_code)
        return [r["teacher_id"] for r in rows]

    async def spot_check(self, conn: asyncpg.Connection, sample_id: str
                         ) -> asyncpg.Record | None:
        return await conn.fetchrow(
            f"SELECT * FROM {self.schema}.spot_checks WHERE sample_id = $1", sample_id)

    async def spot_checks(self, conn: asyncpg.Connection, county_code: str, limit: int
                          ) -> list[asyncpg.Record]:
        return list(await conn.fetch(
            f"SELECT sample_id, county_code, seed, requested_size, requested_percent, "
            f"jsonb_array_length(population) AS population_size, "
            f"jsonb_array_length(sample) AS sample_size, actor, drawn_at "
            f"FROM {self.schema}.spot_checks WHERE county_code = $1 "
            "ORDER BY drawn_at DESC LIMIT $2", county_code, limit))

    async def sample_members(self, conn: asyncpg.Connection, sample_id: str,
                             teacher_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
        """Each sampled teacher with name, school, review status and the recorded result."""
        rows = await conn.fetch(
            f"SELECT t.teacher_id, i.record ->> 'name' AS name, i.school_code, "
            f"s.name AS school_name, i.status, r.outcome, r.fields, r.note, r.actor AS checked_by, "
            f"r.recorded_at AS checked_at, r.record_version AS checked_version "
            f"FROM unnest($2::text[]) AS t(teacher_id) "
            f"LEFT JOIN {self.schema}.items i USING (teacher_id) "
            f"LEFT JOIN {self.schema}.schools s ON s.school_code = i.school_code "
            f"LEFT JOIN {self.schema}.spot_check_results r "
            "ON r.sample_id = $1 AND r.teacher_id = t.teacher_id", sample_id, list(teacher_ids))
        return {r["teacher_id"]: r for r in rows}

    async def error_rates(self, conn: asyncpg.Connection, *, county_code: str | None,
                          city_code: str | None) -> list[asyncpg.Record]:
        """Checked records and errors found, per county and school (grouping sets: a row per
        school, and one per county with school_code NULL)."""
        return list(await conn.fetch(
            f"SELECT r.county_code, r.school_code, max(s.name) AS school_name, "
            f"count(*) AS checked, count(*) FILTER (WHERE r.outcome = 'error_found') AS errors "
            f"FROM {self.schema}.spot_check_results r "
            f"LEFT JOIN {self.schema}.schools s ON s.school_code = r.school_code "
            "WHERE ($1::text IS NULL OR r.county_code = $1) "
            "AND ($2::text IS NULL OR s.city_code = $2) "
            "GROUP BY GROUPING SETS ((r.county_code), (r.county_code, r.school_code)) "
            "ORDER BY r.county_code, r.school_code NULLS FIRST", county_code, city_code))

    async def quality(self, conn: asyncpg.Connection, *, county_code: str | None,
                      city_code: str | None, by_school: bool) -> list[asyncpg.Record]:
        """Data quality of the active records per county (or per school of one county): check
        failures, rejections, the review backlog and its age, suspected duplicates (the same
        name and birth date active at another school) and incomplete records."""
        group = "s.county_code, i.school_code" if by_school else "s.county_code"
        name = "max(s.name) AS school_name, " if by_school else ""
        return list(await conn.fetch(
            f"SELECT {group}, {name}count(*) AS records, "
            "count(*) FILTER (WHERE i.hard_failures > 0) AS failing_checks, "
            "count(*) FILTER (WHERE i.status = 'rejected') AS rejected, "
            "count(*) FILTER (WHERE i.status = 'submitted') AS awaiting_school, "
            "count(*) FILTER (WHERE i.status = 'school_approved') AS awaiting_second_level, "
            "min(i.submitted_at) FILTER (WHERE i.status IN ('submitted', 'school_approved')) "
            "AS oldest_waiting_since, "
            "count(*) FILTER (WHERE i.checks @> '[{\"check\": \"required_fields\"}]' "
            "OR i.checks @> '[{\"check\": \"optional_core_fields\"}]') AS incomplete, "
            "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "
            f"{self.schema}.items o WHERE o.active AND o.school_code <> i.school_code "
            "AND o.person_name = i.person_name AND o.person_birth_date = i.person_birth_date)) "
            "AS suspected_duplicates "
            f"FROM {self.schema}.items i JOIN {self.schema}.schools s USING (school_code) "
            "WHERE i.active AND ($1::text IS NULL OR s.county_code = $1) "
            f"AND ($2::text IS NULL OR s.city_code = $2) GROUP BY {group} ORDER BY {group}",
            county_code, city_code))

    async def decision_counts(self, conn: asyncpg.Connection, *, county_code: str | None,
                              city_code: str | None, as_of: datetime | None
                              ) -> dict[str, tuple[int, int]]:
        """Per county: (decisions, rejections) made up to `as_of` (all when None)."""
        rows = await conn.fetch(
            f"SELECT s.county_code, count(*) AS decisions, "
            "count(*) FILTER (WHERE NOT d.approved AND NOT d.resubmitted) AS rejections "
            f"FROM {self.schema}.decisions d JOIN {self.schema}.items i USING (teacher_id) "
            f"JOIN {self.schema}.schools s USING (school_code) "
            "WHERE NOT d.resubmitted AND ($1::text IS NULL OR s.county_code = $1) "
            "AND ($2::text IS NULL OR s.city_code = $2) "
            "AND ($3::timestamptz IS NULL OR d.decided_at <= $3) GROUP BY s.county_code",
            county_code, city_code, as_of)
        return {r["county_code"]: (int(r["decisions"]), int(r["rejections"])) for r in rows}

    async def suspected_duplicates(self, conn: asyncpg.Connection, *, county_code: str,
                                   limit: int) -> list[asyncpg.Record]:
        """Pairs: an active record of this county and one with the same name and birth date
        active at another school (anywhere in the province)."""
        return list(await conn.fetch(
            f"SELECT i.teacher_id, i.person_name AS name, i.person_birth_date AS birth_date, "
            f"i.school_code, s.name AS school_name, o.teacher_id AS other_teacher_id, "
            f"o.school_code AS other_school_code, os.name AS other_school_name "
            f"FROM {self.schema}.items i JOIN {self.schema}.schools s USING (school_code) "
            f"JOIN {self.schema}.items o ON o.active AND o.school_code <> i.school_code "
            "AND o.person_name = i.person_name AND o.person_birth_date = i.person_birth_date "
            f"LEFT JOIN {self.schema}.schools os ON os.school_code = o.school_code "
            "WHERE i.active AND s.county_code = $1 ORDER BY i.person_name, i.teacher_id "
            "LIMIT $2", county_code, limit))

    async def statuses(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]
                       ) -> dict[str, str]:
        rows = await conn.fetch(
            f"SELECT teacher_id, status FROM {self.schema}.items "
            "WHERE teacher_id = ANY($1::text[])", list(teacher_ids))
        return {r["teacher_id"]: r["status"] for r in rows}

    async def rebuilding(self, conn: asyncpg.Connection) -> bool:
        return bool(await conn.fetchval(
            f"SELECT rebuilding FROM {self.schema}.projection_state WHERE id = 1"))


def sample_of(row: asyncpg.Record) -> SpotCheckSampleDrawn:
    """A spot_checks row as the event that recorded it."""
    return SpotCheckSampleDrawn(
        sample_id=row["sample_id"], county_code=row["county_code"], seed=row["seed"],
        requested_size=row["requested_size"], requested_percent=row["requested_percent"],
        population=tuple(row["population"]), sample=tuple(row["sample"]))
