"""The restructuring scenario the orgsync tests and bench/orgsync_batch.py share (no tests here).

`FakeIntake` stands in for intake: a throwaway intake-like event store schema with its outbox
relay, so the SchoolRegistered / TeacherRegistered events it appends reach the real Kafka topics
exactly as intake's would. `build_scenario` makes a registry of schools and teachers (random
codes, synthetic names) and a batch over it: by default 400 operations whose merges and
closes move 10,000 teachers.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaProducer

from services.orgsync.domain.parsing import COLUMNS
from shared.contracts.base import EventPayload
from shared.contracts.events import (
    SchoolProfile,
    SchoolRegistered,
    TeacherRecord,
    TeacherRegistered,
)
from shared.contracts.vocabulary import Gender, PostStatus, ReportingLine, Stage
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.domain.divisions import divisions
from shared.eventstore.store import Append, EventStore, Metadata
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from shared.settings import Settings

REGISTERED_AT = datetime(2017, 3, 1, tzinfo=UTC)
EFFECTIVE = date(2017, 6, 30)


@dataclass
class Teacher:
    teacher_id: str
    school_code: str
    in_post: bool = True


@dataclass
class Scenario:
    batch_id: str
    schools: dict[str, SchoolProfile]
    teachers: list[Teacher]
    rows: list[dict[str, str]]
    teachers_to_move: int
    merged: list[str] = field(default_factory=list)  # codes the batch merges or closes
    moves: dict[str, str] = field(default_factory=dict)  # source -> target
    opened: list[str] = field(default_factory=list)

    def csv(self, rows: Sequence[dict[str, str]] | None = None,
            batch_id: str | None = None) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows if rows is not None else self.rows:
            writer.writerow({**row, "batch_id": batch_id or self.batch_id,
                             "effective_date": EFFECTIVE.isoformat()})
        return out.getvalue().encode()

    def in_post_at(self, code: str) -> int:
        return sum(1 for t in self.teachers if t.school_code == code and t.in_post)


def build_scenario(*, merges: int = 300, closes: int = 50, opens: int = 20, renames: int = 10,
                   restages: int = 10, reporting: int = 5, county_moves: int = 5,
                   per_merged: int = 25, per_closed: int = 50, targets: int = 100,
                   seed: int | None = None) -> Scenario:
    """A registry and a batch over it. Merge sources go round-robin to the existing targets and
    to schools the batch opens first; closes name a target; the other operations change
    schools no merge touches. Every teacher of a merged or closed school is in post."""
    rng = random.Random(seed)
    tag = uuid4().hex[:8]
    counties = list(divisions().counties.values())
    schools: dict[str, SchoolProfile] = {}
    teachers: list[Teacher] = []
    n = 0

    def new_school(stage: Stage, teachers_in_post: int = 0, not_in_post: int = 0) -> str:
        nonlocal n
        n += 1
        code = f"T{tag}{n:05d}"
        county = rng.choice(counties)
        schools[code] = SchoolProfile(name=f"测试学校{tag}-{n}", stage=stage,
                                      county_code=county.code, city_code=county.city_code)
        teachers.extend(Teacher(str(uuid4()), code) for _ in range(teachers_in_post))
        teachers.extend(Teacher(str(uuid4()), code, False) for _ in range(not_in_post))
        return code

    stages = [Stage.KINDERGARTEN, Stage.PRIMARY, Stage.PRIMARY, Stage.JUNIOR]
    target_codes = [new_school(rng.choice(stages), 2, 1) for _ in range(targets)]
    rows: list[dict[str, str]] = []
    sc = Scenario(f"Q{tag}", schools, teachers, rows, merges * per_merged + closes * per_closed)
    for i in range(opens):
        county = rng.choice(counties)
        code = f"N{tag}{i:05d}"
        rows.append({"op": "open", "school_code": code, "name": f"新设学校{tag}-{i}",
                     "stage": "primary", "county_code": county.code})
        sc.opened.append(code)
    into = target_codes + sc.opened
    for i in range(merges):
        src = new_school(rng.choice(stages), per_merged)
        rows.append({"op": "merge", "school_code": src, "target_code": into[i % len(into)]})
        sc.merged.append(src)
        sc.moves[src] = into[i % len(into)]
    for i in range(closes):
        src = new_school(rng.choice(stages), per_closed)
        rows.append({"op": "close", "school_code": src, "target_code": target_codes[i]})
        sc.merged.append(src)
        sc.moves[src] = target_codes[i]
    for i in range(renames):
        rows.append({"op": "rename", "school_code": new_school(Stage.PRIMARY, 1),
                     "name": f"更名学校{tag}-{i}"})
    for _ in range(restages):
        rows.append({"op": "restage", "school_code": new_school(Stage.PRIMARY, 1),
                     "stage": "junior"})
    for _ in range(reporting):
        rows.append({"op": "change_reporting_line", "school_code": new_school(Stage.SENIOR, 1),
                     "reporting_line": ReportingLine.CITY.value})
    for _ in range(county_moves):
        code = new_school(Stage.PRIMARY, 1)
        other = rng.choice([c for c in counties if c.code != schools[code].county_code])
        rows.append({"op": "move_county", "school_code": code, "county_code": other.code})
    return sc


def a_record(i: int, in_post: bool) -> TeacherRecord:
    return TeacherRecord(
        name=f"教师{i:05d}", id_number_masked="620102********001X", gender=Gender.FEMALE,
        birth_date=date(1980, 1, 1 + i % 28), ethnicity="汉族",
        post_status=PostStatus.IN_POST if in_post else PostStatus.NOT_IN_POST,
        is_fulltime_teacher=True)


class FakeIntake:
    """An intake-like event store whose relay publishes to the real intake topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema = f"intake_t{uuid4().hex[:10]}"
        self.store = EventStore(self.schema, "intake")
        self._stop = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[Any] | None = None
        self.relay: OutboxRelay | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None
        return self._pool

    async def start(self) -> FakeIntake:
        self._pool = await create_pool(self.settings.database_url)
        await apply_migrations(self._pool, self.schema, [EVENTSTORE_MIGRATIONS])
        await ensure_topics(self.settings.kafka_bootstrap)
        self._producer = make_producer(self.settings.kafka_bootstrap, "test-fake-intake")
        await self._producer.start()
        self.relay = OutboxRelay(self.settings.database_url, self.schema, "intake",
                                 self._producer)
        self._task = asyncio.create_task(self.relay.run(self._stop))
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 15)
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await drop_schema(self._pool, self.schema)
            await self._pool.close()

    async def append(self, appends: Sequence[Append], occurred_at: datetime = REGISTERED_AT,
                     chunk: int = 2000) -> None:
        for start in range(0, len(appends), chunk):
            async with self.pool.acquire() as conn, conn.transaction():
                await self.store.append_many(conn, appends[start:start + chunk],
                                             Metadata(actor="school_admin:test",
                                                      occurred_at=occurred_at))

    async def register(self, scenario: Scenario) -> None:
        appends: list[Append] = [
            Append(f"school-{code}", 0, [SchoolRegistered(school_code=code, profile=p)])
            for code, p in scenario.schools.items()]
        appends += [Append(f"teacher-{t.teacher_id}", 0, [_registered(i, t)])
                    for i, t in enumerate(scenario.teachers)]
        await self.append(appends)

    async def published_all(self) -> bool:
        return not await self.pool.fetchval(f"SELECT count(*) FROM {self.schema}.outbox")


def _registered(i: int, t: Teacher) -> EventPayload:
    return TeacherRegistered(teacher_id=t.teacher_id, school_code=t.school_code,
                             record=a_record(i, t.in_post), completeness=0.8)


async def followed(pool: asyncpg.Pool, orgsync_schema: str, scenario: Scenario) -> int:
    """How many of the scenario's teachers orgsync's registry view holds."""
    return int(await pool.fetchval(
        f"SELECT count(*) FROM {orgsync_schema}.registry_teachers WHERE teacher_id = ANY($1)",
        [t.teacher_id for t in scenario.teachers]))
