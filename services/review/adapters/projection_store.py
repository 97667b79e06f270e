"""The review projection in PostgreSQL: facts in, derived items out.

`apply` turns envelopes into facts (services.review.domain.facts), stores them idempotently
(a fact's key is its place in its source stream, or its event id), then recomputes the review
item of every teacher the facts touch with the pure `derive`. The live consumer, the single
decision handler (for review's own events, in the same transaction as the append) and the
replay all go through this one function, so a rebuilt projection is computed exactly as the
live one. It works in bulk: one statement per table for a whole batch (see `apply_facts`).

`apply_decisions` is the batch decisions' shortcut: with the items read under the locks, it
updates only what a decision changes (`domain.model.apply_decision`, equal to `derive` with
one more decision); the integration tests compare it with decisions applied one by one.

Concurrency: the consumer and the decision handler can touch the same teacher at once. Each
takes a transaction-scoped advisory lock per teacher before it reads the teacher's facts, so
the recomputation always sees every fact committed before it; locks are taken in a fixed
order within one statement. A batch holds one lock per teacher (up to consumer_batch, 2,000):
PostgreSQL's lock table (max_locks_per_transaction x max_connections; 64 x 300 here) has room.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from pydantic_core import to_json

from services.review.domain.checks import complete, failures
from services.review.domain.diff import FieldChange
from services.review.domain.facts import (
    Fact,
    SchoolFact,
    SpotCheckFact,
    SpotCheckResultFact,
    read_fact,
)
from services.review.domain.model import (
    NEEDS_PROOF,
    DecisionFact,
    Kind,
    ReviewItem,
    Status,
    TeacherFact,
    apply_decision,
    derive,
)
from shared.contracts.envelope import Envelope
from shared.contracts.events import CheckResult
from shared.contracts.vocabulary import ReviewLevel
from shared.db import checked_schema
from shared.domain.idnumber import last_four
from shared.errors import PoisonEvent

F = TypeVar("F", TeacherFact, DecisionFact)

PROJECTION_TABLES = ("items", "teacher_facts", "decisions", "schools", "spot_checks",
                     "spot_check_results")

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
        """Store the facts and recompute the touched teachers; returns how many.

        Set-based: one lock statement, one read of what is stored for the touched teachers,
        one insert per fact table (unnest), `derive` per teacher in memory, one upsert of the
        items. What is read is taken *before* the insert and merged with the new facts in
        memory (a stored fact wins over a redelivered one with the same key, the first of
        a batch over a later duplicate: exactly ON CONFLICT DO NOTHING), so the new payloads
        are not read back from the table they were just written to."""
        schools = [f for f in facts if isinstance(f, SchoolFact)]
        teachers = [f for f in facts if isinstance(f, TeacherFact)]
        decisions = [f for f in facts if isinstance(f, DecisionFact)]
        spots = [f for f in facts if isinstance(f, SpotCheckFact)]
        results = [f for f in facts if isinstance(f, SpotCheckResultFact)]
        if schools:
            await self._schools(conn, schools)
        if spots:
            await self._spot_checks(conn, spots)
        if results:
            await self._spot_check_results(conn, results)
        touched = sorted({f.teacher_id for f in teachers} | {d.teacher_id for d in decisions})
        if not touched:
            return 0
        await self.lock(conn, touched)
        known_facts, known_decisions = await self._load(conn, touched)
        fresh_facts = _fresh(known_facts, teachers,
                             key=lambda f: (f.teacher_id, f.source, f.stream_version))
        fresh_decisions = _fresh(known_decisions, decisions, key=lambda d: d.event_id)
        # PostgreSQL stores the new facts while this process derives the items from them
        # (nothing reads them back): one statement in flight on the connection, never two.
        storing = asyncio.ensure_future(self._insert_teacher_facts(conn, fresh_facts))
        try:
            await asyncio.sleep(0)  # let the insert go out before the CPU-bound part
            rows, gone = _derive_rows(touched, known_facts, known_decisions)
        finally:
            await storing
        if fresh_decisions:
            await self._insert_decisions(conn, fresh_decisions)
        await self._write_items(conn, rows, gone)
        return len(touched)

    async def apply_decisions(self, conn: asyncpg.Connection, envelopes: Sequence[Envelope],
                              before: Mapping[str, ReviewItem]) -> None:
        """Review's own decisions, one per teacher, with the teachers' items as read under
        their locks in this transaction (`before`): the decision facts are stored and only
        the columns a decision changes are updated (`apply_decision`), instead of deriving
        every teacher again from all its facts. Anything else goes the general way."""
        facts = [read_fact(env) for env in envelopes]
        decisions = [f for f in facts if isinstance(f, DecisionFact)]
        by_teacher = {d.teacher_id: d for d in decisions}
        after: list[ReviewItem] = []
        try:
            if (len(by_teacher) != len(decisions) or any(f is not None and not isinstance(
                    f, DecisionFact) for f in facts)):
                raise ValueError("not one decision per teacher")
            after = [apply_decision(before[t], d) for t, d in by_teacher.items()]
        except (KeyError, ValueError):
            await self.apply(conn, envelopes)
            return
        await self.lock(conn, sorted(by_teacher))  # held already: cheap, and keeps it true
        await self._insert_decisions(conn, decisions)
        await conn.execute(
            f"UPDATE {self.schema}.items AS i SET status = x.status, "
            "rejected_level = x.rejected_level, reject_reason = x.reject_reason, "
            "school_approved_at = x.school_at, county_approved_at = x.county_at "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], "
            "$6::timestamptz[]) AS x(teacher_id, status, rejected_level, reject_reason, "
            "school_at, county_at) WHERE i.teacher_id = x.teacher_id",
            [i.teacher_id for i in after], [i.status.value for i in after],
            [i.rejected_level.value if i.rejected_level else None for i in after],
            [i.reject_reason for i in after], [i.school_approved_at for i in after],
            [i.county_approved_at for i in after])

    async def lock(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]) -> None:
        """Transaction-scoped locks on teachers, always taken in ascending key order (volatile
        functions in the select list run after ORDER BY), so two lockers cannot deadlock
        within one call."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended($2 || t, 0) "
            "AS k FROM unnest($1::text[]) AS t) AS keys ORDER BY k",
            list(teacher_ids), f"{self.schema}:review-item:")

    async def recompute(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]) -> None:
        """Derive the items of these teachers again from their stored facts (locks held)."""
        facts, decisions = await self._load(conn, teacher_ids)
        await self._write_items(conn, *_derive_rows(teacher_ids, facts, decisions))

    async def _load(self, conn: asyncpg.Connection, teacher_ids: Sequence[str]
                    ) -> tuple[dict[str, list[TeacherFact]], dict[str, list[DecisionFact]]]:
        """Every stored fact and decision of these teachers, by teacher."""
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
                f"reason, actor, decided_at, resubmitted FROM {self.schema}.decisions "
                "WHERE teacher_id = ANY($1::text[])", list(teacher_ids)):
            decisions[r["teacher_id"]].append(DecisionFact(
                event_id=str(r["event_id"]), position=r["position"],
                teacher_id=r["teacher_id"], record_version=r["record_version"],
                level=ReviewLevel(r["level"]), approved=r["approved"], reason=r["reason"],
                actor=r["actor"], decided_at=r["decided_at"], resubmitted=r["resubmitted"]))
        return facts, decisions

    async def _insert_teacher_facts(self, conn: asyncpg.Connection,
                                    facts: Sequence[TeacherFact]) -> None:
        if not facts:
            return
        await conn.execute(
            f"INSERT INTO {self.schema}.teacher_facts (teacher_id, source, stream_version, "
            "event_id, event_type, occurred_at, payload) "
            "SELECT t, s, v, e, y, o, p::jsonb FROM unnest($1::text[], $2::text[], $3::int[], "
            "$4::uuid[], $5::text[], $6::timestamptz[], $7::text[]) AS x(t, s, v, e, y, o, p) "
            "ON CONFLICT DO NOTHING",
            [f.teacher_id for f in facts], [f.source for f in facts],
            [f.stream_version for f in facts], [f.event_id for f in facts],
            [f.event_type for f in facts], [f.occurred_at for f in facts],
            [_json(dict(f.payload)) for f in facts])

    async def _insert_decisions(self, conn: asyncpg.Connection,
                                decisions: Sequence[DecisionFact]) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.decisions (event_id, position, teacher_id, "
            "record_version, level, approved, reason, actor, decided_at, resubmitted) "
            "SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::int[], $5::text[], "
            "$6::bool[], $7::text[], $8::text[], $9::timestamptz[], $10::bool[]) "
            "ON CONFLICT DO NOTHING",
            [d.event_id for d in decisions], [d.position for d in decisions],
            [d.teacher_id for d in decisions], [d.record_version for d in decisions],
            [d.level.value for d in decisions], [d.approved for d in decisions],
            [d.reason for d in decisions], [d.actor for d in decisions],
            [d.decided_at for d in decisions], [d.resubmitted for d in decisions])

    async def _write_items(self, conn: asyncpg.Connection, rows: list[tuple[Any, ...]],
                           gone: list[str]) -> None:
        if rows:
            await conn.execute(_UPSERT_ITEMS.format(s=self.schema),
                               *(list(column) for column in zip(*rows, strict=True)))
        if gone:
            await conn.execute(f"DELETE FROM {self.schema}.items WHERE teacher_id = ANY($1)",
                               gone)

    async def _schools(self, conn: asyncpg.Connection, schools: Iterable[SchoolFact]) -> None:
        # Oldest first per school: a closure must land after the registration it closes. The
        # version guard makes an older (or repeated) event a no-op. A run of openings (or of
        # closures) goes as one pipelined executemany, still in that order.
        ordered = sorted(schools, key=lambda f: (f.school_code, f.source, f.stream_version))
        for is_open, run in itertools.groupby(ordered, key=lambda f: f.open):
            if is_open:
                await conn.executemany(
                    f"INSERT INTO {self.schema}.schools AS s (school_code, name, stage, "
                    "is_teaching_point, county_code, city_code, open, merged_into, versions, "
                    "reporting_line) "
                    "VALUES ($1, $2, $3, $4, $5, $6, true, NULL, jsonb_build_object($7::text, "
                    "$8::int), $10) ON CONFLICT (school_code) DO UPDATE SET name = EXCLUDED.name, "
                    "stage = EXCLUDED.stage, is_teaching_point = EXCLUDED.is_teaching_point, "
                    "county_code = EXCLUDED.county_code, city_code = EXCLUDED.city_code, "
                    "reporting_line = EXCLUDED.reporting_line, "
                    "open = s.open OR $9, "
                    "merged_into = CASE WHEN $9 THEN NULL ELSE s.merged_into END, "
                    "versions = s.versions || EXCLUDED.versions "
                    "WHERE coalesce((s.versions ->> $7)::int, 0) < $8",
                    [(f.school_code, f.name, f.stage, bool(f.is_teaching_point), f.county_code,
                      f.city_code, f.source, f.stream_version,
                      f.event_type == "SchoolRegistered", f.reporting_line or "county")
                     for f in run])
            else:
                await conn.executemany(
                    f"UPDATE {self.schema}.schools SET open = false, merged_into = $2, "
                    "versions = versions || jsonb_build_object($3::text, $4::int) "
                    "WHERE school_code = $1 AND coalesce((versions ->> $3)::int, 0) < $4",
                    [(f.school_code, f.merged_into, f.source, f.stream_version) for f in run])

    async def _spot_checks(self, conn: asyncpg.Connection, spots: Sequence[SpotCheckFact]
                           ) -> None:
        await conn.executemany(
            f"INSERT INTO {self.schema}.spot_checks (sample_id, county_code, seed, "
            "requested_size, requested_percent, population, sample, actor, drawn_at, event_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            [(s.event.sample_id, s.event.county_code, s.event.seed, s.event.requested_size,
              s.event.requested_percent, list(s.event.population), list(s.event.sample),
              s.actor, s.drawn_at, s.event_id) for s in spots])

    async def _spot_check_results(self, conn: asyncpg.Connection,
                                  results: Sequence[SpotCheckResultFact]) -> None:
        """The newest result per sample and teacher: an older or redelivered one is a no-op."""
        await conn.executemany(
            f"INSERT INTO {self.schema}.spot_check_results AS r (sample_id, teacher_id, "
            "county_code, school_code, record_version, outcome, fields, note, actor, "
            "recorded_at, position, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            "$11, $12) ON CONFLICT (sample_id, teacher_id) DO UPDATE SET "
            "school_code = EXCLUDED.school_code, record_version = EXCLUDED.record_version, "
            "outcome = EXCLUDED.outcome, fields = EXCLUDED.fields, note = EXCLUDED.note, "
            "actor = EXCLUDED.actor, recorded_at = EXCLUDED.recorded_at, "
            "position = EXCLUDED.position, event_id = EXCLUDED.event_id "
            "WHERE r.position < EXCLUDED.position",
            [(r.event.sample_id, r.event.teacher_id, r.event.county_code, r.event.school_code,
              r.event.record_version, r.event.outcome, list(r.event.fields), r.event.note,
              r.actor, r.recorded_at, r.position, r.event_id) for r in results])

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
            "spot_check_results": (f"SELECT * FROM {self.schema}.spot_check_results "
                                   f"{c_filter} ORDER BY sample_id, teacher_id", county_codes),
        }
        out: dict[str, list[dict[str, Any]]] = {}
        for table, (sql, ids) in queries.items():
            rows = await (conn.fetch(sql, list(ids)) if ids else conn.fetch(sql))
            out[table] = [_normal(dict(r)) for r in rows]
        return out


_ITEM_TYPES = ("text", "text", "bool", "text", "int", "int", "text", "text", "text", "text",
               "text", "text", "int", "text", "text", "int", "int", "timestamptz",
               "timestamptz", "timestamptz", "uuid", "text", "text", "text")
_JSON_COLUMNS = frozenset({"record", "proof", "diff", "checks"})
assert len(_ITEM_TYPES) == len(ITEM_COLUMNS)

# Any number of items in one statement: one array per column (the JSON columns as text).
_UPSERT_ITEMS = (
    "INSERT INTO {s}.items (" + ", ".join(ITEM_COLUMNS) + ") SELECT "
    + ", ".join(f"{c}::jsonb" if c in _JSON_COLUMNS else c for c in ITEM_COLUMNS)
    + " FROM unnest(" + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_ITEM_TYPES, 1))
    + ") AS x(" + ", ".join(ITEM_COLUMNS) + ") ON CONFLICT (teacher_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in ITEM_COLUMNS[1:])
)


def _derive_rows(teacher_ids: Sequence[str], facts: dict[str, list[TeacherFact]],
                 decisions: dict[str, list[DecisionFact]]
                 ) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The `items` rows of these teachers, and the teachers without a reviewable record."""
    rows, gone = [], []
    for tid in teacher_ids:
        item = derive(tid, facts[tid], decisions[tid])
        if item is None:
            gone.append(tid)
        else:
            rows.append(_item_row(item))
    return rows, gone


def _fresh(known: dict[str, list[F]], new: Sequence[F], *, key: Callable[[F], Any]) -> list[F]:
    """The facts of `new` not stored yet (nor earlier in `new`); appends them to `known`."""
    seen = {key(f) for fs in known.values() for f in fs}
    out = []
    for f in new:
        k = key(f)
        if k in seen:
            continue
        seen.add(k)
        out.append(f)
        known[f.teacher_id].append(f)
    return out


def _json(value: Any) -> str:
    """JSON text for a jsonb column: pydantic-core's serializer, several times faster than
    json.dumps on these records (jsonb normalises the spacing either way)."""
    return to_json(value).decode()


@functools.lru_cache(maxsize=4096)
def _checks_json(failed: tuple[CheckResult, ...]) -> str:
    # Only the failures are stored (item_from_row completes them): the row stays small, and
    # most records fail nothing or the same few warnings, so the text is made once.
    return _json([c.model_dump(mode="json") for c in failed])


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v
            for k, v in row.items()}


def _item_row(item: ReviewItem) -> tuple[Any, ...]:
    """An `items` row in ITEM_COLUMNS order (JSON columns as JSON text)."""
    rec = item.record
    return (
        item.teacher_id, item.school_code, item.active, _json(dict(rec)), item.record_version,
        item.stream_version, item.status.value, item.kind.value,
        item.rejected_level.value if item.rejected_level else None, item.reject_reason,
        _json(dict(item.proof)) if item.proof else None, item.from_school_code,
        item.diff_base_version,
        _json([{"field": c.field, "old": c.old, "new": c.new} for c in item.diff]),
        _checks_json(failures(item.checks)), len(item.hard_failures), len(item.warnings),
        item.submitted_at, item.school_approved_at, item.county_approved_at,
        item.source_event_id, _str(rec.get("name")), _str(rec.get("birth_date")),
        _person_id(rec.get("id_number_masked")),
    )


def _person_id(masked: Any) -> str | None:
    """The masked number as records of a person are matched by: its last four, whichever form
    of the mask an event carried (shared/domain/idnumber.py)."""
    return last_four(masked) if isinstance(masked, str) and masked.strip() else None


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
        checks=complete([_check_from(c) for c in row["checks"]],
                        needs_proof=Kind(row["kind"]) in NEEDS_PROOF),
        submitted_at=row["submitted_at"], school_approved_at=row["school_approved_at"],
        county_approved_at=row["county_approved_at"],
        source_event_id=str(row["source_event_id"]),
    )


_KNOWN_CHECKS: dict[tuple[Any, ...], CheckResult] = {}


def _check_from(c: dict[str, Any]) -> CheckResult:
    """A stored check as a CheckResult; the passed ones (most) are a few values, parsed once
    (a batch of decisions reads a thousand items at a time)."""
    if c.get("passed") is not True or c.get("message"):
        return CheckResult.model_validate(c)
    key = (c.get("check"), c.get("severity"), c.get("message"), len(c))
    known = _KNOWN_CHECKS.get(key)
    if known is None:
        known = _KNOWN_CHECKS[key] = CheckResult.model_validate(c)
    return known


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
