"""The review projection in PostgreSQL: facts in, derived items out.

`apply` turns envelopes into facts (services.review.domain.facts), stores them idempotently
(a fact's key is its place in its source stream, or its event id), then recomputes the review
item of every teacher the facts touch with the pure `derive`. The live consumer, the decision
handler (for review's own events, in the same transaction as the append) and the replay all go
through this one function, so a rebuilt projection is computed exactly as the live one.

Concurrency: the consumer and the decision handler can touch the same teacher at once. Each
takes a transaction-scoped advisory lock per teacher before it reads the teacher's facts, so
the recomputation always sees every fact committed before it; locks are taken in a fixed
order within one statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.review.domain.diff import FieldChange
from services.review.domain.facts import Fact, SchoolFact, SpotCheckFact, read_fact
from services.review.domain.model import (
    DecisionFact,
    Kind,
    ReviewItem,
    Status,
    TeacherFact,
    derive,
)
from shared.contracts.envelope import Envelope
from shared.contracts.events import CheckResult
from shared.contracts.vocabulary import ReviewLevel
from shared.db import checked_schema
from shared.errors import PoisonEvent

PROJECTION_TABLES = ("items", "teacher_facts", "decisions", "schools", "spot_checks")

ITEM_COLUMNS = (
    "teacher_id", "school_code", "active", "record", "record_version", "stream_version",
    "status", "kind", "rejected_level", "reject_reason", "proof", "from_school_code",
    "diff_base_version", "diff", "checks", "hard_failures", "warnings", "submitted_at",
    "school_approved_at", "county_approved_at", "source_event_id", "person_name",
    "person_birth_date", "person_id_masked",
)


@dataclass
class Applied:
    facts: int = 0
    poisoned: int = 0
    teachers: int = 0


class ProjectionStore:
    def __init__(self, schema: str) -> None:
        self.schema = checked_schema(schema)

    # ------------------------------------------------------------------ writing

    async def apply(self, conn: asyncpg.Connection, envelopes: Sequence[Envelope], *,
                    skip_poison: bool = False) -> Applied:
        """Apply envelopes (inside the caller's transaction). A PoisonEvent propagates unless
        `skip_poison` (the replay skips what the live consumer dead-letters)."""
        facts: list[Fact] = []
        result = Applied()
        for env in envelopes:
            try:
                fact = read_fact(env)
            except PoisonEvent:
                if not skip_poison:
                    raise
                result.poisoned += 1
                continue
            if fact is not None:
                facts.append(fact)
        result.facts = len(facts)
        result.teachers = await self.apply_facts(conn, facts)
        return result

    async def apply_facts(self, conn: asyncpg.Connection, facts: Sequence[Fact]) -> int:
        """Store the facts and recompute the touched teachers; returns how many."""
        schools = [f for f in facts if isinstance(f, SchoolFact)]
        teachers = [f for f in facts if isinstance(f, TeacherFact)]
        decisions = [f for f in facts if isinstance(f, DecisionFact)]
        spots = [f for f in facts if isinstance(f, SpotCheckFact)]
        if schools:
            await self._schools(conn, schools)
        if spots:
            await self._spot_checks(conn, spots)
        touched = sorted({f.teacher_id for f in teachers} | {d.teacher_id for d in decisions})
        if not touched:
            return 0
        await self.lock(conn, touched)
        if teachers:
            await conn.executemany(
                f"INSERT INTO {self.schema}.teacher_facts (teacher_id, source, stream_version, "
                "event_id, event_type, occurred_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                "ON CONFLICT DO NOTHING",
                [(f.teacher_id, f.source, f.stream_version, f.event_id, f.event_type,
                  f.occurred_at, f.payload) for f in teachers])
        if decisions:
            await conn.executemany(
                f"INSERT INTO {self.schema}.decisions (event_id, position, teacher_id, "
                "record_version, level, approved, reason, actor, decided_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                [(d.event_id, d.position, d.teacher_id, d.record_version, d.level.value,
                  d.approved, d.reason, d.actor, d.decided_at) for d in decisions])
        await self.recompute(conn, touched)
        return len(touched)

    async def lock(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]) -> None:
        """Transaction-scoped locks on teachers, always taken in ascending key order (volatile
        functions in the select list run after ORDER BY), so two lockers cannot deadlock
        within one call."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended($2 || t, 0) "
            "AS k FROM unnest($1::text[]) AS t) AS keys ORDER BY k",
            list(teacher_ids), f"{self.schema}:review-item:")

    async def recompute(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]) -> None:
        facts: dict[str, list[TeacherFact]] = {t: [] for t in teacher_ids}
        for r in await conn.fetch(
                f"SELECT teacher_id, source, stream_version, event_id, event_type, occurred_at, "
                f"payload FROM {self.schema}.teacher_facts WHERE teacher_id = ANY($1::text[])",
                list(teacher_ids)):
            facts[r["teacher_id"]].append(TeacherFact(
                teacher_id=r["teacher_id"], source=r["source"],
                stream_version=r["stream_version"], event_type=r["event_type"],
                event_id=str(r["event_id"]), occurred_at=r["occurred_at"],
                payload=r["payload"]))
        decisions: dict[str, list[DecisionFact]] = {t: [] for t in teacher_ids}
        for r in await conn.fetch(
                f"SELECT event_id, position, teacher_id, record_version, level, approved, "
                f"reason, actor, decided_at FROM {self.schema}.decisions "
                "WHERE teacher_id = ANY($1::text[])", list(teacher_ids)):
            decisions[r["teacher_id"]].append(DecisionFact(
                event_id=str(r["event_id"]), position=r["position"],
                teacher_id=r["teacher_id"], record_version=r["record_version"],
                level=ReviewLevel(r["level"]), approved=r["approved"], reason=r["reason"],
                actor=r["actor"], decided_at=r["decided_at"]))
        rows, gone = [], []
        for tid in teacher_ids:
            item = derive(tid, facts[tid], decisions[tid])
            if item is None:
                gone.append(tid)
            else:
                rows.append(_item_row(item))
        if rows:
            cols = ", ".join(ITEM_COLUMNS)
            params = ", ".join(f"${i}" for i in range(1, len(ITEM_COLUMNS) + 1))
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ITEM_COLUMNS[1:])
            await conn.executemany(
                f"INSERT INTO {self.schema}.items ({cols}) VALUES ({params}) "
                f"ON CONFLICT (teacher_id) DO UPDATE SET {updates}", rows)
        if gone:
            await conn.execute(f"DELETE FROM {self.schema}.items WHERE teacher_id = ANY($1)",
                               gone)

    async def _schools(self, conn: asyncpg.Connection, schools: Iterable[SchoolFact]) -> None:
        # One statement per event, oldest first: a closure must land after the registration
        # it closes. The version guard makes an older (or repeated) event a no-op.
        for f in sorted(schools, key=lambda f: (f.school_code, f.source, f.stream_version)):
            if f.open:
                await conn.execute(
                    f"INSERT INTO {self.schema}.schools AS s (school_code, name, stage, "
                    "is_teaching_point, county_code, city_code, open, merged_into, versions) "
                    "VALUES ($1, $2, $3, $4, $5, $6, true, NULL, jsonb_build_object($7::text, "
                    "$8::int)) ON CONFLICT (school_code) DO UPDATE SET name = EXCLUDED.name, "
                    "stage = EXCLUDED.stage, is_teaching_point = EXCLUDED.is_teaching_point, "
                    "county_code = EXCLUDED.county_code, city_code = EXCLUDED.city_code, "
                    "open = s.open OR $9, "
                    "merged_into = CASE WHEN $9 THEN NULL ELSE s.merged_into END, "
                    "versions = s.versions || EXCLUDED.versions "
                    "WHERE coalesce((s.versions ->> $7)::int, 0) < $8",
                    f.school_code, f.name, f.stage, bool(f.is_teaching_point), f.county_code,
                    f.city_code, f.source, f.stream_version,
                    f.event_type == "SchoolRegistered")
            else:
                await conn.execute(
                    f"UPDATE {self.schema}.schools SET open = false, merged_into = $2, "
                    "versions = versions || jsonb_build_object($3::text, $4::int) "
                    "WHERE school_code = $1 AND coalesce((versions ->> $3)::int, 0) < $4",
                    f.school_code, f.merged_into, f.source, f.stream_version)

    async def _spot_checks(self, conn: asyncpg.Connection, spots: Sequence[SpotCheckFact]
                           ) -> None:
        await conn.executemany(
            f"INSERT INTO {self.schema}.spot_checks (sample_id, county_code, seed, "
            "requested_size, requested_percent, population, sample, actor, drawn_at, event_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            [(s.event.sample_id, s.event.county_code, s.event.seed, s.event.requested_size,
              s.event.requested_percent, list(s.event.population), list(s.event.sample),
              s.actor, s.drawn_at, s.event_id) for s in spots])

    # ------------------------------------------------------------------ rebuild support

    async def truncate(self, conn: asyncpg.Connection) -> None:
        tables = ", ".join(f"{self.schema}.{t}" for t in PROJECTION_TABLES)
        await conn.execute(f"TRUNCATE {tables}")

    async def set_rebuilding(self, conn: asyncpg.Connection, on: bool,
                             events: int | None = None) -> None:
        if on:
            await conn.execute(
                f"UPDATE {self.schema}.projection_state SET rebuilding = true, "
                "rebuild_started_at = now(), rebuild_finished_at = NULL WHERE id = 1")
        else:
            await conn.execute(
                f"UPDATE {self.schema}.projection_state SET rebuilding = false, "
                "rebuild_finished_at = now(), events_replayed = $1 WHERE id = 1", events)

    async def rebuilding(self, conn: asyncpg.Connection) -> bool:
        return bool(await conn.fetchval(
            f"SELECT rebuilding FROM {self.schema}.projection_state WHERE id = 1"))

    async def snapshot(self, conn: asyncpg.Connection, *, teacher_ids: Sequence[str] = (),
                       school_codes: Sequence[str] = (), county_codes: Sequence[str] = ()
                       ) -> dict[str, list[dict[str, Any]]]:
        """A normalised dump of the projection (optionally only some teachers, schools and
        counties), for comparing a rebuilt projection with the live one."""
        t_filter = "WHERE teacher_id = ANY($1::text[])" if teacher_ids else ""
        s_filter = "WHERE school_code = ANY($1::text[])" if school_codes else ""
        c_filter = "WHERE county_code = ANY($1::text[])" if county_codes else ""
        queries = {
            "items": (f"SELECT * FROM {self.schema}.items {t_filter} ORDER BY teacher_id",
                      teacher_ids),
            "teacher_facts": (f"SELECT * FROM {self.schema}.teacher_facts {t_filter} "
                              "ORDER BY teacher_id, source, stream_version", teacher_ids),
            "decisions": (f"SELECT * FROM {self.schema}.decisions {t_filter} "
                          "ORDER BY event_id", teacher_ids),
            "schools": (f"SELECT * FROM {self.schema}.schools {s_filter} ORDER BY school_code",
                        school_codes),
            "spot_checks": (f"SELECT * FROM {self.schema}.spot_checks {c_filter} "
                            "ORDER BY sample_id", county_codes),
        }
        out: dict[str, list[dict[str, Any]]] = {}
        for table, (sql, ids) in queries.items():
            rows = await (conn.fetch(sql, list(ids)) if ids else conn.fetch(sql))
            out[table] = [_normal(dict(r)) for r in rows]
        return out


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v
            for k, v in row.items()}


def _item_row(item: ReviewItem) -> tuple[Any, ...]:
    rec = item.record
    return (
        item.teacher_id, item.school_code, item.active, dict(rec), item.record_version,
        item.stream_version, item.status.value, item.kind.value,
        item.rejected_level.value if item.rejected_level else None, item.reject_reason,
        dict(item.proof) if item.proof else None, item.from_school_code,
        item.diff_base_version,
        [{"field": c.field, "old": c.old, "new": c.new} for c in item.diff],
        [c.model_dump(mode="json") for c in item.checks],
        len(item.hard_failures), len(item.warnings), item.submitted_at,
        item.school_approved_at, item.county_approved_at, item.source_event_id,
        _str(rec.get("name")), _str(rec.get("birth_date")), _str(rec.get("id_number_masked")),
    )


def item_from_row(row: asyncpg.Record | dict[str, Any]) -> ReviewItem:
    """A ReviewItem from an `items` row (what the decision handler decides on)."""
    return ReviewItem(
        teacher_id=row["teacher_id"], school_code=row["school_code"], active=row["active"],
        record=row["record"], record_version=row["record_version"],
        stream_version=row["stream_version"], status=Status(row["status"]),
        kind=Kind(row["kind"]),
        rejected_level=ReviewLevel(row["rejected_level"]) if row["rejected_level"] else None,
        reject_reason=row["reject_reason"], proof=row["proof"],
        from_school_code=row["from_school_code"], diff_base_version=row["diff_base_version"],
        diff=tuple(FieldChange(c["field"], c["old"], c["new"]) for c in row["diff"]),
        checks=tuple(CheckResult.model_validate(c) for c in row["checks"]),
        submitted_at=row["submitted_at"], school_approved_at=row["school_approved_at"],
        county_approved_at=row["county_approved_at"],
        source_event_id=str(row["source_event_id"]),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
