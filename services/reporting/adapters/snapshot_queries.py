"""Reads reporting's projection as of a cut-off into a domain Snapshot.

The heavy part is one GROUP BY over the teacher versions valid at the cut-off (the counting
rules in SQL: in post, not left, at a school), joined to the school versions valid then. At
province scale (20k schools, 400k teachers) this is a single scan; bench/reporting_asof.py
measures it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

from services.reporting.domain.asof import AsOf
from services.reporting.domain.facts import (
    Baseline,
    BaselineRowData,
    Baselines,
    Confirmation,
    PendingOperation,
    SchoolFacts,
    Signoff,
    Snapshot,
)
from shared.db import checked_schema


class SnapshotQueries:
    def __init__(self, schema: str) -> None:
        self.s = checked_schema(schema)

    async def snapshot(self, conn: asyncpg.Connection, as_of: AsOf,
                       year: int | None = None) -> Snapshot:
        t = as_of.cutoff
        schools, unknown, closed = await self.schools(conn, t)
        return Snapshot(
            as_of=as_of, schools=schools, baselines=await self.baselines(conn, as_of.day, year),
            staff_at_unknown_schools=unknown, staff_at_closed_schools=closed,
            signoffs=await self.signoffs(conn, t), confirmations=await self.confirmations(conn, t),
            confirmed_counted=await self.confirmed_counted(conn, t),
            pending=await self.pending(conn, t))

    async def schools(self, conn: asyncpg.Connection, t: Any
                      ) -> tuple[tuple[SchoolFacts, ...], dict[str, int], dict[str, int]]:
        rows = await conn.fetch(
            f"""
            WITH s AS (
                SELECT school_code, name, stage, is_teaching_point, county_code, city_code,
                       reporting_line, open
                FROM {self.s}.school_versions
                WHERE valid_from < $1 AND valid_to >= $1 AND registered),
            t AS (
                SELECT school_code, count(*) AS staff,
                       count(*) FILTER (WHERE is_fulltime) AS fulltime,
                       count(*) FILTER (WHERE record_version > 0
                                        AND reviewed_version >= record_version) AS reviewed,
                       coalesce(sum(completeness), 0)::float8 AS completeness_sum
                FROM {self.s}.teacher_versions
                WHERE valid_from < $1 AND valid_to >= $1 AND in_post AND NOT has_left
                  AND school_code IS NOT NULL
                GROUP BY school_code)
            SELECT school_code, s.name, s.stage, s.is_teaching_point, s.county_code,
                   s.city_code, s.reporting_line, s.open, s.school_code IS NOT NULL AS known,
                   coalesce(t.staff, 0) AS staff, coalesce(t.fulltime, 0) AS fulltime,
                   coalesce(t.reviewed, 0) AS reviewed,
                   coalesce(t.completeness_sum, 0) AS completeness_sum
            FROM s FULL JOIN t USING (school_code)
            """, t)
        facts: list[SchoolFacts] = []
        unknown: dict[str, int] = {}
        closed: dict[str, int] = {}
        for r in rows:
            if not r["known"]:
                unknown[r["school_code"]] = r["staff"]
                continue
            if not r["open"] and r["staff"]:
                closed[r["school_code"]] = r["staff"]
            facts.append(SchoolFacts(
                code=r["school_code"], name=r["name"], stage=r["stage"],
                is_teaching_point=r["is_teaching_point"], county_code=r["county_code"],
                city_code=r["city_code"], reporting_line=r["reporting_line"], open=r["open"],
                staff=r["staff"], fulltime=r["fulltime"], reviewed=r["reviewed"],
                completeness_sum=r["completeness_sum"]))
        facts.sort(key=lambda f: f.code)
        return tuple(facts), unknown, closed

    async def baselines(self, conn: asyncpg.Connection, day: date, year: int | None
                        ) -> Baselines:
        """Per (kind, level) the newest complete import of the year in use. Without a year
        asked for: the latest year before the report's year (the annual report describes the
        previous school year), else the latest there is."""
        complete = await conn.fetch(
            f"""
            SELECT b.baseline_id, b.kind, b.year, b.imported_at, b.recorded_at,
                   array_agg(DISTINCT r.level) AS levels
            FROM {self.s}.baselines b JOIN {self.s}.baseline_rows r USING (baseline_id)
            WHERE (SELECT count(*) FROM {self.s}.baseline_chunks c
                   WHERE c.baseline_id = b.baseline_id) = b.chunks
            GROUP BY b.baseline_id, b.kind, b.year, b.imported_at, b.recorded_at
            """)
        if not complete:
            return Baselines(year)
        years = sorted({r["year"] for r in complete})
        if year is None:
            earlier = [y for y in years if y < day.year]
            year = earlier[-1] if earlier else years[-1]
        best: dict[tuple[str, str], asyncpg.Record] = {}
        for r in complete:
            if r["year"] != year:
                continue
            for level in r["levels"]:
                k = (r["kind"], level)
                rank = (r["imported_at"], r["recorded_at"], r["baseline_id"])
                if k not in best or rank > (best[k]["imported_at"], best[k]["recorded_at"],
                                            best[k]["baseline_id"]):
                    best[k] = r
        ids = sorted({r["baseline_id"] for r in best.values()})
        rows = await conn.fetch(
            f"SELECT baseline_id, level, code, name, stage, schools, teaching_points, staff, "
            f"fulltime, is_total FROM {self.s}.baseline_rows WHERE baseline_id = ANY($1) "
            "ORDER BY baseline_id, chunk, row_no", ids)
        by_id: dict[str, list[BaselineRowData]] = defaultdict(list)
        for r in rows:
            by_id[r["baseline_id"]].append(BaselineRowData(
                r["level"], r["code"], r["name"], r["stage"], r["schools"],
                r["teaching_points"], r["staff"], r["fulltime"], r["is_total"]))
        chosen = {k: Baseline(r["baseline_id"], r["kind"], r["year"], r["imported_at"],
                              tuple(by_id[r["baseline_id"]])) for k, r in best.items()}
        return Baselines(year, chosen)

    async def signoffs(self, conn: asyncpg.Connection, t: Any) -> dict[str, Signoff]:
        rows = await conn.fetch(
            f"SELECT DISTINCT ON (county_code) * FROM {self.s}.signoffs WHERE occurred_at < $1 "
            "ORDER BY county_code, occurred_at DESC, recorded_at DESC, event_id", t)
        return {r["county_code"]: Signoff(
            r["county_code"], r["city_code"], r["occurred_at"], r["actor"], r["agrees"],
            r["schools_system"], r["staff_system"], r["schools_base"], r["staff_base"],
            r["explanation"]) for r in rows}

    async def confirmations(self, conn: asyncpg.Connection, t: Any) -> dict[str, Confirmation]:
        rows = await conn.fetch(
            f"SELECT DISTINCT ON (school_code, kind) school_code, kind, occurred_at, signed, "
            f"teacher_ids FROM {self.s}.confirmation_events WHERE occurred_at < $1 "
            "ORDER BY school_code, kind, occurred_at DESC, recorded_at DESC, event_id", t)
        out: dict[str, dict[str, Any]] = defaultdict(dict)
        for r in rows:
            if r["kind"] == "exported":
                out[r["school_code"]].update(exported_at=r["occurred_at"],
                                             exported_teachers=tuple(r["teacher_ids"]))
            else:
                out[r["school_code"]].update(returned_at=r["occurred_at"],
                                             signed=bool(r["signed"]),
                                             confirmed_teachers=frozenset(r["teacher_ids"]))
        return {code: Confirmation(code, **values) for code, values in out.items()}

    async def confirmed_counted(self, conn: asyncpg.Connection, t: Any) -> dict[str, int]:
        """Per school, the counted staff as of t who were on its latest table returned signed."""
        rows = await conn.fetch(
            f"""
            WITH r AS (
                SELECT DISTINCT ON (school_code) school_code, signed, teacher_ids
                FROM {self.s}.confirmation_events WHERE kind = 'returned' AND occurred_at < $1
                ORDER BY school_code, occurred_at DESC, recorded_at DESC, event_id)
            SELECT v.school_code, count(*) AS n
            FROM r JOIN {self.s}.teacher_versions v
              ON v.school_code = r.school_code AND v.teacher_id = ANY(r.teacher_ids)
            WHERE r.signed AND v.valid_from < $1 AND v.valid_to >= $1 AND v.in_post
              AND NOT v.has_left
            GROUP BY v.school_code
            """, t)
        return {r["school_code"]: r["n"] for r in rows}

    async def pending(self, conn: asyncpg.Connection, t: Any) -> tuple[PendingOperation, ...]:
        rows = await conn.fetch(
            f"SELECT batch_id, effective_date, announced_ops FROM {self.s}.restructuring_batches "
            "WHERE announced_at < $1 AND (applied_at IS NULL OR applied_at >= $1) "
            "ORDER BY batch_id", t)
        out = []
        for r in rows:
            for op in r["announced_ops"] or []:
                out.append(PendingOperation(
                    r["batch_id"], op.get("op", ""), op.get("school_code", ""), op.get("stage"),
                    r["effective_date"].isoformat() if r["effective_date"] else None))
        return tuple(out)

    # ------------------------------------------------------------------ confirmation export

    async def teachers_of(self, conn: asyncpg.Connection, school_code: str
                          ) -> list[dict[str, Any]]:
        """The teachers at a school now (not left), with their newest core record."""
        rows = await conn.fetch(
            f"""
            WITH v AS (
                SELECT teacher_id, in_post, is_fulltime FROM {self.s}.teacher_versions
                WHERE valid_to = 'infinity' AND school_code = $1 AND NOT has_left),
            r AS (
                SELECT DISTINCT ON (e.entity_id) e.entity_id AS teacher_id,
                       e.fact -> 'record' AS record
                FROM {self.s}.entity_events e JOIN v ON v.teacher_id = e.entity_id
                WHERE e.entity_kind = 'teacher'
                  AND e.event_type IN ('TeacherRegistered', 'TeacherUpdated')
                ORDER BY e.entity_id, e.sort_key DESC)
            SELECT v.teacher_id, v.in_post, v.is_fulltime, r.record
            FROM v LEFT JOIN r USING (teacher_id)
            """, school_code)
        out = [{"teacher_id": r["teacher_id"], "in_post": r["in_post"],
                "is_fulltime": r["is_fulltime"], "record": r["record"] or {}} for r in rows]
        out.sort(key=lambda x: (str(x["record"].get("name", "")), x["teacher_id"]))
        return out

    async def current_school(self, conn: asyncpg.Connection, school_code: str
                             ) -> dict[str, Any] | None:
        r = await conn.fetchrow(
            f"SELECT school_code, name, stage, county_code, city_code, open "
            f"FROM {self.s}.school_versions WHERE school_code = $1 AND valid_to = 'infinity' "
            "AND registered", school_code)
        return dict(r) if r else None
