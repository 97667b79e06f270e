"""Reporting at province scale: as-of latency of the stage table and replay throughput.

1. Loads a province-sized projection (20,166 schools, ~400k teachers with some history) into a
   fresh reporting schema with the projection's own bulk loader: the entered figures are the
   notice's (16,037 schools, 365,152 staff), plus teachers not in post, teachers who left, and a
   later wave of history after the notice's date, so as-of queries have intervals to cut.
   The notice's stage table is imported as the annual baseline, with a county-level one.
2. Measures GET-equivalent report builds (the handler the API calls): stages as of 2017-04-07
   and as of now, cities, findings (median of several runs).
3. Appends N real events through an event store + outbox relay to Kafka and measures
   `tmis replay reporting` (rebuild from the log) in events per second.
4. Optionally screenshots the dashboard in headless Chromium (--screenshot PATH).

    .venv/bin/python bench/reporting_asof.py [--replay-events 40000] [--screenshot PATH]

Uses TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL when set, else starts a throwaway local stack.
Results: bench/results/reporting.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.reporting.adapters.projection_store import ProjectionStore  # noqa: E402
from services.reporting.adapters.snapshot_queries import SnapshotQueries  # noqa: E402
from services.reporting.bootstrap import MIGRATIONS, SPEC  # noqa: E402
from services.reporting.domain.reports import ReportRequest  # noqa: E402
from services.reporting.entrypoints.replay import rebuild  # noqa: E402
from services.reporting.service_layer.handlers import Deps, build  # noqa: E402
from shared.auth import SESSION_COOKIE, mint_token  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.events import (  # noqa: E402
    BaselineImported,
    BaselineRow,
    SchoolProfile,
    SchoolRegistered,
    TeacherRecord,
    TeacherRegistered,
)
from shared.contracts.vocabulary import Gender, PostStatus, Stage  # noqa: E402
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool  # noqa: E402
from shared.domain.divisions import divisions  # noqa: E402
from shared.eventstore.store import Append, EventStore, Metadata, UnitOfWork  # noqa: E402
from shared.kafka import ensure_topics, make_producer  # noqa: E402
from shared.outbox import OutboxRelay  # noqa: E402
from shared.settings import Settings  # noqa: E402

NOTICE_CSV = REPO / "shared" / "data" / "notice_2017_stage_table.csv"
NOTICE_DAY = "2017-04-07"
T_REGISTER = datetime(2016, 11, 1, tzinfo=UTC)
T_LATER = datetime(2017, 6, 1, tzinfo=UTC)


@contextlib.contextmanager
def stack() -> Any:
    bootstrap, url = os.environ.get("TMIS_KAFKA_BOOTSTRAP"), os.environ.get("TMIS_DATABASE_URL")
    if bootstrap and url:
        yield bootstrap, url
        return
    from deploy.local.stack import start_infra, stop_infra

    state = Path(tempfile.mkdtemp(prefix="tmis-bench-"))
    state.chmod(0o755)
    try:
        yield start_infra(state)
    finally:
        stop_infra(state)
        shutil.rmtree(state, ignore_errors=True)


def notice_rows() -> list[dict[str, str]]:
    import csv

    with NOTICE_CSV.open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["stage"] != "total"]


def _split(total: int, n: int) -> list[int]:
    base, rem = divmod(total, n)
    return [base + (1 if i < rem else 0) for i in range(n)]


def province(rng: random.Random) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]],
                                          dict[str, dict[str, list[int]]]]:
    """School and teacher version rows reproducing the notice's entered figures."""
    counties = sorted(divisions().counties.values(), key=lambda c: c.code)
    weights = [rng.uniform(0.3, 2.0) for _ in counties]
    schools: list[tuple[Any, ...]] = []
    teachers: list[tuple[Any, ...]] = []
    per_county: dict[str, dict[str, list[int]]] = {}
    n = 0
    head = f"{T_REGISTER:%Y-%m-%dT%H:%M:%S.%f}|bench"

    def add_school(stage: str, tp: bool, county: Any) -> str:
        nonlocal n
        n += 1
        code = f"62{n:08d}"
        schools.append((code, T_REGISTER, None, head, True, f"{county.name}第{n}学校", stage, tp,
                        county.code, county.city_code, "county", False, True, None))
        return code

    def teacher(code: str, *, in_post: bool = True, fulltime: bool = True,
                left: bool = False) -> None:
        tid = str(uuid4())
        state = (code, in_post, fulltime, False, round(rng.uniform(0.4, 1.0), 2), 1,
                 1 if rng.random() < 0.94 else 0)
        if left:  # left after the notice's date: counted as of 2017-04-07, not now
            teachers.append((tid, T_REGISTER, T_LATER, head, *state))
            teachers.append((tid, T_LATER, None, head + "x", *state[:3], True, *state[4:]))
        else:
            teachers.append((tid, T_REGISTER, None, head, *state))

    for row in notice_rows():
        stage = row["stage"]
        count = int(row["schools_entered"])
        points = int(row["teaching_points_entered"] or 0)
        staff = _split(int(row["staff_entered"]), count)
        fulltime = _split(int(row["fulltime_entered"]), count)
        missing = int(row["schools_annual"]) - count
        for i in range(count):
            county = rng.choices(counties, weights)[0]
            code = add_school(stage, i < points, county)
            c = per_county.setdefault(county.code, {}).setdefault(stage, [0, 0])
            c[0] += 1
            c[1] += staff[i]
            for j in range(staff[i]):
                teacher(code, fulltime=j < fulltime[i], left=rng.random() < 0.03)
            for _ in range(round(staff[i] * 0.09)):  # 不在本单位任职: in the registry, not staff
                teacher(code, in_post=False)
        for _ in range(max(0, missing) if stage != "special" else 0):
            add_school(stage, False, rng.choices(counties, weights)[0])
    return schools, teachers, per_county


async def load_baselines(pool: Any, schema: str, per_county: dict[str, dict[str, list[int]]],
                         rng: random.Random) -> None:
    """The notice's table (stage level) and a county-level annual baseline, applied through
    the projection exactly as their BaselineImported events would be."""
    import csv

    from services.reporting.domain.baselines import parse_rows

    with NOTICE_CSV.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    stage_rows = parse_rows(rows[0], rows[1:], kind="annual", level=None,
                            divisions=divisions()).rows
    county_rows = []
    for code, stages in sorted(per_county.items()):
        total_s = sum(v[0] for v in stages.values())
        total_t = sum(v[1] for v in stages.values())
        factor = rng.uniform(1.0, 1.25)
        county_rows.append(BaselineRow(level="county", code=code, schools=int(total_s * factor),
                                       staff=int(total_t * factor)))
        if "kindergarten" in stages:
            kg = stages["kindergarten"]
            county_rows.append(BaselineRow(level="county", code=code, stage=Stage.KINDERGARTEN,
                                           schools=int(kg[0] * rng.uniform(1.5, 3.2)),
                                           staff=int(kg[1] * rng.uniform(1.3, 2.2))))
    store = ProjectionStore(schema)
    async with pool.acquire() as conn, conn.transaction():
        for i, rows_ in enumerate((stage_rows, tuple(county_rows))):
            event = BaselineImported(baseline_id=f"bench{i}", kind="annual", year=2016, chunk=0,
                                     chunks=1, rows=tuple(rows_))
            env = Envelope(event_id=uuid4(), event_type=event.event_type, schema_version=1,
                           source="reporting", stream_id=f"baseline-bench{i}", stream_version=1,
                           position=1, occurred_at=datetime(2017, 3, 1, tzinfo=UTC),
                           recorded_at=datetime.now(UTC), actor="bench", correlation_id=uuid4(),
                           payload=event.model_dump(mode="json"))
            await store.add_baseline_chunk(conn, env, event)


async def timed(fn: Any, runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "runs": runs}


async def replay_bench(settings: Settings, events: int) -> dict[str, Any]:
    """Append `events` real events (schools then teachers) through an outbox to Kafka, then
    rebuild a fresh reporting schema from the log."""
    pool = await create_pool(settings.database_url, max_size=4)
    src_schema, schema = f"intake_bench{uuid4().hex[:6]}", f"reporting_bench{uuid4().hex[:6]}"
    producer = make_producer(settings.kafka_bootstrap, "bench-replay")
    await ensure_topics(settings.kafka_bootstrap)
    await producer.start()
    await apply_migrations(pool, src_schema, [EVENTSTORE_MIGRATIONS])
    store = EventStore(src_schema, "intake")
    counties = list(divisions().counties.values())
    n_schools = max(1, events // 20)
    codes = [f"R{uuid4().hex[:9]}" for _ in range(n_schools)]
    rng = random.Random(3)
    appends = []
    for code in codes:
        c = rng.choice(counties)
        appends.append(Append(f"school-{code}", 0, [SchoolRegistered(
            school_code=code, profile=SchoolProfile(name=f"学校{code}", stage=Stage.PRIMARY,
                                                    county_code=c.code, city_code=c.city_code))]))
    for i in range(events - n_schools):
        tid = str(uuid4())
        appends.append(Append(f"teacher-{tid}", 0, [TeacherRegistered(
            teacher_id=tid, school_code=codes[i % len(codes)], completeness=0.8,
            record=TeacherRecord(name="教师", id_number_masked="620102********001X",
                                 gender=Gender.MALE, birth_date=date(1980, 1, 1),
                                 ethnicity="汉族", post_status=PostStatus.IN_POST,
                                 is_fulltime_teacher=True))],
            occurred_at=T_REGISTER + timedelta(seconds=i)))
    for i in range(0, len(appends), 5000):
        async with UnitOfWork(pool) as uow:
            await store.append_many(uow.conn, appends[i:i + 5000], Metadata(actor="bench"))
    relay = OutboxRelay(settings.database_url, src_schema, "intake", producer, batch_size=5000)
    async with pool.acquire() as conn:
        while await relay.publish_once(conn):
            pass
    await producer.stop()
    stats = await rebuild(settings, schema)
    async with pool.acquire() as conn:
        counted = await conn.fetchval(f"SELECT count(*) FROM {schema}.teacher_versions")
    await pool.close()
    return {"events_in_log": stats.messages, "applied": stats.applied,
            "seconds": stats.seconds, "events_per_second": stats.events_per_second,
            "teacher_versions_built": counted,
            "note": "the log also holds any events already on the topics (fresh stack: none)"}


@contextlib.asynccontextmanager
async def served(settings: Settings, schema: str) -> AsyncIterator[str]:
    import uvicorn

    from shared.runtime import build_app, start_runtime, stop_runtime

    spec = dataclasses.replace(SPEC, schema=schema, projections=None)
    app = build_app(spec, settings)
    runtime, broker, tasks, stop = await start_runtime(spec, settings)
    app.state.runtime = runtime
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await stop_runtime(runtime, broker, tasks, stop)


async def screenshot(url: str, token: str, path: Path) -> None:
    """The dashboard as Chromium shows it to a browser holding the session cookie (a token in
    the URL is refused)."""
    from playwright.async_api import async_playwright

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print("chromium not installed: no screenshot", file=sys.stderr)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 2300})
            await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": url}])
            page = await context.new_page()
            await page.goto(url)
            await page.screenshot(path=str(path))
        finally:
            await browser.close()


async def main_async(args: argparse.Namespace, bootstrap: str, url: str) -> dict[str, Any]:
    settings = Settings(kafka_bootstrap=bootstrap, database_url=url, env="test")
    schema = f"reporting_bench{uuid4().hex[:6]}"
    rng = random.Random(2017)
    pool = await create_pool(url, max_size=4)
    await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
    started = time.perf_counter()
    schools, teachers, per_county = province(rng)
    store = ProjectionStore(schema)
    async with pool.acquire() as conn:
        await store.bulk_versions(conn, "school", schools)
        for i in range(0, len(teachers), 100_000):
            await store.bulk_versions(conn, "teacher", teachers[i:i + 100_000])
        await conn.execute(f"ANALYZE {schema}.school_versions")
        await conn.execute(f"ANALYZE {schema}.teacher_versions")
    await load_baselines(pool, schema, per_county, rng)
    load_s = round(time.perf_counter() - started, 1)
    deps = Deps(pool, EventStore(schema, "reporting"), SnapshotQueries(schema))
    stages = await build(deps, ReportRequest("stages"), NOTICE_DAY)
    total = stages.table("stages").rows[-1]
    result: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "projection": {"schools": len(schools),
                       "teachers": len({t[0] for t in teachers}),
                       "teacher_versions": len(teachers), "load_seconds": load_s},
        "stage_table_as_of_2017_04_07": {"schools_entered": total["schools_entered"],
                                         "staff_entered": total["staff_entered"],
                                         "fulltime_entered": total["fulltime_entered"]},
        "latency": {
            "stages_as_of_2017_04_07": await timed(
                lambda: build(deps, ReportRequest("stages"), NOTICE_DAY), args.runs),
            "stages_now": await timed(lambda: build(deps, ReportRequest("stages"), None),
                                      args.runs),
            "cities_as_of_2017_04_07": await timed(
                lambda: build(deps, ReportRequest("cities"), NOTICE_DAY), args.runs),
            "findings_as_of_2017_04_07": await timed(
                lambda: build(deps, ReportRequest("findings"), NOTICE_DAY), args.runs),
        },
    }
    await pool.close()
    if args.screenshot:
        async with served(settings, schema) as base:
            token = mint_token(settings, "province_admin")
            await screenshot(f"{base}/?as_of={NOTICE_DAY}", token, Path(args.screenshot))
        result["screenshot"] = str(args.screenshot)
    if args.replay_events:
        result["replay"] = await replay_bench(settings, args.replay_events)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--replay-events", type=int, default=40_000)
    parser.add_argument("--screenshot", help="save a dashboard PNG here")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "reporting.json"))
    args = parser.parse_args()
    with stack() as (bootstrap, url):
        result = asyncio.run(main_async(args, bootstrap, url))
    result["command"] = "python bench/reporting_asof.py " + " ".join(sys.argv[1:])
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
