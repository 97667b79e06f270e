"""The world reporting's integration tests share (no tests here): stand-in sources and helpers.

`Sources` are throwaway event-store schemas for intake, review and orgsync, each with its outbox
relay, so the events a test appends reach the real Kafka topics exactly as those services
publish them. `ReportingUnderTest` runs the real reporting runtime under a random schema, with
an httpx client (ASGI) and, on demand, a real HTTP server for the browser test.
Every test works in its own window of past business time (`epoch`), so "as of" queries in it
see only its own events even though all tests share the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.reporting.bootstrap import SPEC
from services.reporting.entrypoints.consumers import TOPICS
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    SchoolProfile,
    SchoolRegistered,
    TeacherRecord,
    TeacherRegistered,
)
from shared.contracts.vocabulary import Gender, PostStatus, Stage
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool, drop_schema
from shared.eventstore.store import EventStore, Metadata, UnitOfWork
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from shared.runtime import Runtime, build_app, group_id, start_runtime, stop_runtime
from shared.settings import Settings
from tests.support import RunningService, settings_for


def tag() -> str:
    return uuid4().hex[:8]


class Source:
    """One stand-in writing service: its own event store schema and relay."""

    def __init__(self, pool: asyncpg.Pool, name: str, schema: str) -> None:
        self.pool, self.name, self.schema = pool, name, schema
        self.store = EventStore(schema, name)

    async def emit(self, stream_id: str, events: Sequence[EventPayload],
                   at: datetime) -> list[Envelope]:
        async with UnitOfWork(self.pool) as uow:
            return await self.store.append(uow.conn, stream_id, None, list(events),
                                           Metadata(actor=f"test-{self.name}", occurred_at=at))


@dataclasses.dataclass
class Sources:
    intake: Source
    review: Source
    orgsync: Source


@contextlib.asynccontextmanager
async def sources(settings: Settings) -> AsyncIterator[Sources]:
    pool = await create_pool(settings.database_url, max_size=4)
    names = {"intake": f"intake_t{tag()}", "review": f"review_t{tag()}",
             "orgsync": f"orgsync_t{tag()}"}
    producer = make_producer(settings.kafka_bootstrap, f"test-sources-{tag()}")
    stop = asyncio.Event()
    tasks = []
    try:
        await ensure_topics(settings.kafka_bootstrap)
        await producer.start()
        for schema in names.values():
            await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS])
        for name, schema in names.items():
            relay = OutboxRelay(settings.database_url, schema, name, producer,
                                idle_poll_seconds=0.2)
            tasks.append(asyncio.create_task(relay.run(stop)))
        yield Sources(*(Source(pool, n, s) for n, s in names.items()))
    finally:
        stop.set()
        for t in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(t, 10)
        await producer.stop()
        for schema in names.values():
            await drop_schema(pool, schema)
        await pool.close()


def record(*, post: PostStatus = PostStatus.IN_POST, fulltime: bool = True,
           name: str = "测试教师") -> TeacherRecord:
    rng = random.Random()
    return TeacherRecord(name=name, id_number_masked=f"620102********{rng.randrange(1000):03d}X",
                         gender=Gender.FEMALE, birth_date=date(1985, 5, 6), ethnicity="汉族",
                         post_status=post, is_fulltime_teacher=fulltime,
                         highest_education="本科")


def school(code: str, stage: Stage = Stage.JUNIOR, county: str = "620102",
           city: str = "620100", name: str | None = None,
           teaching_point: bool = False) -> SchoolRegistered:
    return SchoolRegistered(school_code=code, profile=SchoolProfile(
        name=name or f"测试学校{code}", stage=stage, county_code=county, city_code=city,
        is_teaching_point=teaching_point))


def teacher(school_code: str, *, post: PostStatus = PostStatus.IN_POST,
            fulltime: bool = True) -> TeacherRegistered:
    return TeacherRegistered(teacher_id=str(uuid4()), school_code=school_code,
                             record=record(post=post, fulltime=fulltime), completeness=0.75)


_WINDOWS = itertools.count(1)
_START = datetime(1960, 1, 1, 8, tzinfo=UTC)


def epoch() -> datetime:
    """The start of a 60-day window of business time for one test. Each new window lies before
    every earlier one (and long before other services' tests, which use recent dates), so as of
    any day of it only the test's own events exist, although every test shares the topics."""
    return _START - timedelta(days=60 * next(_WINDOWS))


def day(start: datetime, n: int) -> datetime:
    return start + timedelta(days=n)


def as_of(start: datetime, n: int) -> str:
    return (start + timedelta(days=n)).date().isoformat()


class ReportingUnderTest(RunningService):
    async def report(self, name: str, **params: Any) -> dict[str, Any]:
        r = await self.client.get(f"/v1/reports/{name}", params=params,
                                  headers=self.auth("province_admin"))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def schools(self, codes: set[str], **params: Any) -> dict[str, dict[str, Any]]:
        body = await self.report("schools", **params)
        return {row["school_code"]: row for row in body["tables"][0]["rows"]
                if row["school_code"] in codes}


@contextlib.asynccontextmanager
async def reporting(settings: Settings, schema: str, *, http: bool = False
                    ) -> AsyncIterator[tuple[ReportingUnderTest, str | None]]:
    """The real reporting runtime under `schema`; with http=True also a uvicorn server on a
    free port of 127.0.0.1 (its base URL is the second item)."""
    import uvicorn

    spec = dataclasses.replace(SPEC, schema=schema)
    app = build_app(spec, settings)
    runtime, broker, tasks, stop = await start_runtime(spec, settings)
    app.state.runtime = runtime
    server = serving = None
    url = None
    try:
        if http:
            port = free_port()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                   lifespan="off", log_level="warning"))
            serving = asyncio.create_task(server.serve())
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{port}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     timeout=120) as client:
            yield ReportingUnderTest(client, runtime, settings), url
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serving, 10)
        await stop_runtime(runtime, broker, tasks, stop)


@contextlib.asynccontextmanager
async def reporting_world(stack_env: Any
                          ) -> AsyncIterator[tuple[Sources, ReportingUnderTest]]:
    """Fake intake/review/orgsync sources and a reporting service of its own schema, for one
    test module's `world` fixture."""
    settings = settings_for(stack_env)
    async with sources(settings) as src, \
            reporting(settings, f"reporting_t{tag()}") as (svc, _):
        yield src, svc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def caught_up(runtime: Runtime, schema: str, timeout: float = 90.0) -> None:
    """Wait until reporting's consumer group has committed the end offset of every partition
    of every topic it reads (so the projection holds everything in the log right now)."""
    bootstrap = runtime.settings.kafka_bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    from aiokafka import AIOKafkaConsumer

    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await reader.start()
    try:
        tps = [TopicPartition(t, p) for t in TOPICS
               for p in (reader.partitions_for_topic(t) or await _parts(reader, t))]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ends = await reader.end_offsets(tps)
            committed = await admin.list_consumer_group_offsets(group_id(schema, "reporting"))
            behind = [tp for tp in tps if ends[tp] > 0 and
                      (committed.get(tp) is None or committed[tp].offset < ends[tp])]
            if not behind:
                return
            if loop.time() > deadline:
                raise AssertionError(f"reporting still behind on {behind[:5]}")
            await asyncio.sleep(0.3)
    finally:
        await reader.stop()
        await admin.close()


async def _parts(reader: Any, topic: str) -> set[int]:
    while not reader.partitions_for_topic(topic):
        await reader._client.force_metadata_update()
    parts: set[int] = reader.partitions_for_topic(topic)
    return parts


async def dump(pool: asyncpg.Pool, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table of a reporting schema as sorted tuples (for replay == live)."""
    from services.reporting.adapters.projection_store import PROJECTION_TABLES

    out = {}
    async with pool.acquire() as conn:
        for table in PROJECTION_TABLES:
            rows = await conn.fetch(f"SELECT * FROM {schema}.{table}")
            out[table] = sorted((tuple(_norm(v) for v in r.values()) for r in rows), key=repr)
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(v)
    if isinstance(v, dict):
        return repr(sorted(v.items()))
    return v
