"""Bulk paths against the real PostgreSQL: a consumer batch applied at once equals the same
events applied one by one, and a batch of decisions equals the same decisions one by one,
compared as table dumps of two schemas fed the same intake events.

No Kafka here: intake's envelopes are made in the test and handed to ProjectionStore.apply,
which is what the consumer's apply_batch (and the replay) call.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from services.review.adapters.projection_store import ProjectionStore
from services.review.adapters.unit_of_work import PgReviewUnitOfWork
from services.review.bootstrap import MIGRATIONS
from services.review.domain.decisions import DecideRecord
from services.review.service_layer import handlers
from services.review.service_layer.handlers import BatchOutcome
from shared.auth import Principal, Role
from shared.contracts.envelope import Envelope
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.errors import TmisError
from shared.eventstore.store import EventStore
from tests.support import settings_for
from tests.unit.test_review_model import PROOF, a_record

pytestmark = pytest.mark.integration

CITY = "620100"
COUNTIES = ("620102", "620103")
T0 = datetime(2017, 2, 20, 8, tzinfo=UTC)
DECIDED_AT = datetime(2017, 3, 10, 9, tzinfo=UTC)
ROBOT = Principal("service:simulator", Role.SERVICE)


class IntakeLog:
    """Intake's events as the consumer would receive them, made up per test."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.envelopes: list[Envelope] = []
        self.versions: dict[str, int] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.schools: list[str] = []

    def _emit(self, stream: str, event_type: str, payload: dict[str, Any]) -> Envelope:
        version = self.versions[stream] = self.versions.get(stream, 0) + 1
        at = T0 + timedelta(minutes=len(self.envelopes))
        env = Envelope(event_id=uuid4(), event_type=event_type, schema_version=1,
                       source="intake", stream_id=stream, stream_version=version,
                       position=len(self.envelopes) + 1, occurred_at=at, recorded_at=at,
                       actor="intake-like", correlation_id=uuid4(), payload=payload)
        self.envelopes.append(env)
        return env

    def school(self, county: str) -> str:
        code = f"S{self.rng.randrange(10**9)}"
        self.schools.append(code)
        self._emit(f"school-{code}", "SchoolRegistered", {"school_code": code, "profile": {
            "name": f"测试学校{code}", "stage": "primary", "is_teaching_point": False,
            "county_code": county, "city_code": CITY, "reporting_line": "county",
            "is_rural": False}})
        return code

    def rename(self, code: str, county: str) -> None:
        self._emit(f"school-{code}", "SchoolChanged", {"school_code": code, "profile": {
            "name": f"更名学校{code}", "stage": "primary", "is_teaching_point": False,
            "county_code": county, "city_code": CITY, "reporting_line": "county",
            "is_rural": False}, "changed_fields": ["name"]})

    def teacher(self, school: str, **changes: Any) -> str:
        tid = str(uuid4())
        self.records[tid] = a_record(self.rng, **changes)
        self._emit(f"teacher-{tid}", "TeacherRegistered", {
            "teacher_id": tid, "school_code": school, "record": self.records[tid],
            "completeness": 1.0})
        return tid

    def update(self, tid: str, school: str, **changes: Any) -> None:
        self.records[tid] = {**self.records[tid], **changes}
        self._emit(f"teacher-{tid}", "TeacherUpdated", {
            "teacher_id": tid, "school_code": school, "record": self.records[tid],
            "changed_fields": list(changes), "completeness": 1.0})

    def transfer(self, tid: str, src: str, dst: str, *, proof: bool) -> None:
        payload: dict[str, Any] = {"teacher_id": tid, "from_school_code": src,
                                   "to_school_code": dst}
        if proof:
            payload["proof"] = PROOF
        self._emit(f"teacher-{tid}", "TeacherTransferred", payload)

    def leave(self, tid: str, school: str) -> None:
        self._emit(f"teacher-{tid}", "TeacherLeft", {"teacher_id": tid, "school_code": school,
                                                     "reason": "retired"})

    def reassign(self, tid: str, src: str, dst: str) -> None:
        self._emit(f"teacher-{tid}", "TeacherReassigned", {
            "teacher_id": tid, "from_school_code": src, "to_school_code": dst,
            "batch_id": "b1"})


@pytest.fixture(scope="module")
async def pool(stack_env: Any) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings_for(stack_env).database_url, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def schemas(pool: asyncpg.Pool) -> AsyncIterator[list[str]]:
    made: list[str] = []
    for _ in range(3):
        schema = f"review_b{uuid4().hex[:8]}"
        await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
        made.append(schema)
    yield made
    for schema in made:
        await drop_schema(pool, schema)


async def apply(pool: asyncpg.Pool, schema: str, envelopes: Sequence[Envelope]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await ProjectionStore(schema).apply(conn, envelopes)


async def dump(pool: asyncpg.Pool, schema: str) -> dict[str, list[dict[str, Any]]]:
    async with pool.acquire() as conn:
        return await ProjectionStore(schema).snapshot(conn)


def a_province(seed: int) -> tuple[IntakeLog, dict[str, str]]:
    """Schools and teachers in every state a reviewer meets; returns the log and, per
    teacher, what it is."""
    log = IntakeLog(seed)
    a, b, c = log.school(COUNTIES[0]), log.school(COUNTIES[0]), log.school(COUNTIES[1])
    kinds: dict[str, str] = {}
    for i in range(12):
        kinds[log.teacher((a, b, c)[i % 3])] = "new"
    kinds[stale := log.teacher(a)] = "stale"
    log.update(stale, a, highest_education="硕士")
    kinds[log.teacher(b, hire_date="1970-01-01")] = "blocked"  # hired before 18: hard check
    kinds[moved := log.teacher(a)] = "transfer_without_proof"
    log.transfer(moved, a, c, proof=False)
    kinds[proven := log.teacher(a)] = "transfer"
    log.transfer(proven, a, b, proof=True)
    kinds[gone := log.teacher(c)] = "left"
    log.leave(gone, c)
    kinds[merged := log.teacher(b)] = "reassigned"
    log.reassign(merged, b, a)
    kinds[log.teacher("S-not-registered")] = "unplaced"
    log.rename(a, COUNTIES[0])
    return log, kinds


async def test_a_consumer_batch_applied_at_once_equals_the_events_applied_one_by_one(
        pool: asyncpg.Pool, schemas: list[str]) -> None:
    log, _ = a_province(1)
    events = list(log.envelopes)
    redelivered = [*events, *events[5:12]]  # a redelivered tail: the same facts again
    at_once, one_by_one, shuffled = schemas
    await apply(pool, at_once, redelivered)
    for env in redelivered:
        await apply(pool, one_by_one, [env])
    # Schools first (a closure is not in this log), then the teacher events in any order and
    # any cut into batches: the state is a function of the set of facts.
    rng = random.Random(7)
    schools = [e for e in events if e.stream_id.startswith("school-")]
    teachers = [e for e in redelivered if not e.stream_id.startswith("school-")]
    rng.shuffle(teachers)
    await apply(pool, shuffled, schools)
    while teachers:
        cut = rng.randrange(1, 8)
        await apply(pool, shuffled, teachers[:cut])
        teachers = teachers[cut:]
    expected = await dump(pool, one_by_one)
    assert len(expected["items"]) == len(log.records) and len(expected["schools"]) == 3
    assert await dump(pool, at_once) == expected
    assert await dump(pool, shuffled) == expected


def outcome(o: BatchOutcome) -> tuple[Any, ...]:
    d = o.decided
    return (o.teacher_id, o.status_code, o.error,
            (d.level, d.approved, d.status, [e.event_type for e in d.events]) if d else None)


async def decide_one_by_one(uow: Any, cmds: Sequence[DecideRecord]) -> list[BatchOutcome]:
    out = []
    for cmd in cmds:
        try:
            decided = await handlers.decide_record(uow, ROBOT, cmd, occurred_at=DECIDED_AT)
        except TmisError as exc:
            out.append(BatchOutcome(cmd.teacher_id, cmd.record_version,
                                    status_code=exc.status_code, error=exc.as_dict()))
        else:
            out.append(BatchOutcome(cmd.teacher_id, cmd.record_version, decided))
    return out


async def events_dump(pool: asyncpg.Pool, schema: str) -> list[dict[str, Any]]:
    """Review's own events without what differs by nature (ids, positions, clock times)."""
    rows = await pool.fetch(
        f"SELECT stream_id, stream_version, event_type, schema_version, occurred_at, actor, "
        f"causation_id, payload FROM {schema}.events ORDER BY stream_id, stream_version")
    return [dict(r) for r in rows]


def without_ids(d: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out = dict(d)
    out["decisions"] = sorted(
        ({k: v for k, v in row.items() if k not in ("event_id", "position")}
         for row in d["decisions"]),
        key=lambda r: (r["teacher_id"], r["record_version"], r["level"], r["approved"]))
    return out


async def test_a_batch_of_decisions_equals_the_same_decisions_one_by_one(
        pool: asyncpg.Pool, schemas: list[str]) -> None:
    log, kinds = a_province(2)
    batched, single, _ = schemas
    for schema in (batched, single):
        await apply(pool, schema, log.envelopes)
    tids = list(kinds)
    unknown = str(uuid4())
    rejected = tids[3]

    version = {t: 2 if kinds[t] in ("stale", "transfer_without_proof", "transfer") else 1
               for t in tids}
    stale = next(t for t in tids if kinds[t] == "stale")
    version[stale] = 1  # the school names the version it read before the update
    school = [DecideRecord(t, version[t], approve=t != rejected,
                           reason="" if t != rejected else "照片不清") for t in tids]
    school += [DecideRecord(unknown, 1, approve=True),
               DecideRecord(tids[0], 1, approve=True)]  # a second decision on one teacher
    version[stale] = 2
    county = [DecideRecord(t, version[t], approve=True) for t in tids]
    batches = [school, county]

    results = []
    for cmds in batches:
        uow_b = lambda: PgReviewUnitOfWork(pool, EventStore(batched, "review"))  # noqa: E731
        uow_s = lambda: PgReviewUnitOfWork(pool, EventStore(single, "review"))  # noqa: E731
        got = await handlers.decide_batch(uow_b, ROBOT, cmds, occurred_at=DECIDED_AT, chunk=5)
        want = await decide_one_by_one(uow_s, cmds)
        assert [outcome(o) for o in got] == [outcome(o) for o in want]
        results.append(got)

    first_round = [(kinds.get(o.teacher_id, "unknown"), o.status_code,
                    o.error["error"] if o.error else o.decided and o.decided.level.value)
                   for o in results[0]]
    assert first_round[:12] == [("new", 200, "school")] * 12
    assert first_round[12:] == [
        ("stale", 409, "stale_record"), ("blocked", 422, "checks_failed"),
        ("transfer_without_proof", 422, "proof_missing"), ("transfer", 200, "school"),
        ("left", 409, "not_awaiting_decision"), ("reassigned", 200, "school"),
        ("unplaced", 409, "conflict"), ("unknown", 404, "not_found"),
        ("new", 200, "county")]  # the second decision on tids[0], after its first
    assert results[0][3].decided is not None and not results[0][3].decided.approved
    codes = {kinds.get(o.teacher_id, "unknown"): o.status_code for o in results[1]}
    assert codes["stale"] == 200 and codes["blocked"] == 422
    assert codes["transfer_without_proof"] == 422 and codes["transfer"] == 200
    assert without_ids(await dump(pool, batched)) == without_ids(await dump(pool, single))
    got_events, want_events = await events_dump(pool, batched), await events_dump(pool, single)
    assert got_events == want_events and len(got_events) > 2 * len(tids)
    assert all(e["occurred_at"] == DECIDED_AT for e in got_events)
    first = next(e for e in got_events if e["stream_id"] == f"review-{tids[0]}")
    source = next(e for e in log.envelopes if e.stream_id == f"teacher-{tids[0]}")
    assert first["causation_id"] == UUID(str(source.event_id))
    outbox = [await pool.fetchval(f"SELECT count(*) FROM {s}.outbox") for s in (batched, single)]
    assert outbox[0] == outbox[1] == len(got_events)
