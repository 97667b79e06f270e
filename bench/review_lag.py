"""Review bench: projection lag under load, and replay rate.

    .venv/bin/python bench/review_lag.py [--seconds 60] [--clients 200] [--rate 400]

Starts its own throwaway Kafka + PostgreSQL (deploy.local.stack.start_infra in a temp dir),
runs the review service as its own process (`python -m services.review`), and an intake-like
load generator as another process (this file with --generate): `--clients` concurrent writers
appending TeacherRegistered / TeacherUpdated events (70/30), one transaction each, to an
intake-shaped event store at `--rate` events/s in total, published to the real topics by the
outbox relay, as intake would. The measuring runs in this process, apart from the load.

Lag: every 250 ms a probe teacher is registered at a school of its own; a group-less consumer
notes the Kafka timestamp of the probe's message (producer CreateTime: when the relay sent it)
and a poller asks GET /v1/queue?school_code=<probe school> every 10 ms until the probe is
listed. Reported: Kafka -> visible in the queue, and recorded (event store) -> visible.

Replay: after the load, `rebuild()` (what `tmis replay review` runs) rebuilds the projection
from the topics and review's store, with the service still running; events/s is reported.

Results go to bench/results/review.json. A run takes about 2 to 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.local.procs import free_port  # noqa: E402
from deploy.local.stack import start_infra, stop_infra  # noqa: E402
from services.review.entrypoints.replay import rebuild  # noqa: E402
from shared.auth import mint_token  # noqa: E402
from shared.contracts.base import EventPayload  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.events import (  # noqa: E402
    SchoolProfile,
    SchoolRegistered,
    TeacherRecord,
    TeacherRegistered,
    TeacherUpdated,
)
from shared.contracts.vocabulary import Gender, PostStatus, Stage  # noqa: E402
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool  # noqa: E402
from shared.domain.idnumber import mask, synthetic_id_number  # noqa: E402
from shared.eventstore.store import EventStore, Metadata, UnitOfWork  # noqa: E402
from shared.kafka import ensure_topics, make_producer  # noqa: E402
from shared.outbox import OutboxRelay  # noqa: E402
from shared.settings import Settings  # noqa: E402

TEACHER_TOPIC = "tmis.intake.teacher.v1"
COUNTIES = ("620102", "620103", "620104", "620105", "620111")
CITY = "620100"
RESULTS = REPO / "bench" / "results" / "review.json"
INTAKE_SCHEMA = "intake_bench"


def a_record(rng: random.Random) -> TeacherRecord:
    birth = datetime(1965 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28))
    gender = rng.choice(["male", "female"])
    return TeacherRecord(
        name=f"压测{rng.randrange(10**7)}", gender=Gender(gender),
        id_number_masked=mask(synthetic_id_number(rng, "620102", birth.date(), gender)),
        birth_date=birth.date(), ethnicity="汉族", post_status=PostStatus.IN_POST,
        is_fulltime_teacher=True, stage_taught=Stage.PRIMARY,
        hire_date=birth.date().replace(year=birth.year + 22), highest_education="本科",
        teacher_qualification="小学教师资格")


@dataclass
class Load:
    appended: int = 0
    errors: int = 0
    started: float = 0.0
    stopped: float = 0.0


@dataclass
class Probe:
    school: str
    teacher_id: str
    recorded_at: float
    kafka_ts: float | None = None
    visible_at: float | None = None


@dataclass
class Probes:
    all: dict[str, Probe] = field(default_factory=dict)  # by stream id
    pending: asyncio.Queue[Probe] = field(default_factory=asyncio.Queue)


class IntakeLike:
    def __init__(self, pool: Any, schema: str) -> None:
        self.pool = pool
        self.store = EventStore(schema, source="intake")

    async def append(self, stream_id: str, event: EventPayload) -> Envelope:
        async with UnitOfWork(self.pool) as uow:
            [env] = await self.store.append(uow.conn, stream_id, None, [event],
                                            Metadata(actor="bench"))
        return env


async def client(intake: IntakeLike, schools: list[str], period: float, stop: asyncio.Event,
                 load: Load, seed: int) -> None:
    """One school administrator: registers teachers and now and then updates one."""
    rng = random.Random(seed)
    mine: list[tuple[str, str, TeacherRecord]] = []
    await asyncio.sleep(rng.random() * period)
    next_at = time.monotonic()
    while not stop.is_set():
        try:
            if mine and rng.random() < 0.3:
                tid, school, record = rng.choice(mine)
                record = record.model_copy(update={"professional_title": rng.choice(
                    ["二级教师", "一级教师", "高级教师"])})
                await intake.append(f"teacher-{tid}", TeacherUpdated(
                    teacher_id=tid, school_code=school, record=record,
                    changed_fields=("professional_title",), completeness=1.0))
            else:
                tid, school, record = str(uuid4()), rng.choice(schools), a_record(rng)
                await intake.append(f"teacher-{tid}", TeacherRegistered(
                    teacher_id=tid, school_code=school, record=record, completeness=1.0))
                mine.append((tid, school, record))
            load.appended += 1
        except Exception:
            load.errors += 1  # a bench counts failures and goes on
        next_at += period
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def probe_writer(intake: IntakeLike, probes: Probes, stop: asyncio.Event,
                       every: float) -> None:
    rng = random.Random(7)
    while not stop.is_set():
        school = f"P{uuid4().hex[:12]}"
        tid = str(uuid4())
        env = await intake.append(f"teacher-{tid}", TeacherRegistered(
            teacher_id=tid, school_code=school, record=a_record(rng), completeness=1.0))
        probe = Probe(school, tid, env.recorded_at.timestamp())
        probes.all[env.stream_id] = probe
        await probes.pending.put(probe)
        await asyncio.sleep(every)


async def kafka_watch(bootstrap: str, probes: Probes, stop: asyncio.Event) -> None:
    """Notes each probe's Kafka timestamp (CreateTime: when the relay produced it)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(TEACHER_TOPIC)
        while not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(TEACHER_TOPIC)
        tps = [TopicPartition(TEACHER_TOPIC, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for rec in records:
                    key = (rec.key or b"").decode()
                    probe = probes.all.get(key)
                    if probe is not None and probe.kafka_ts is None:
                        probe.kafka_ts = rec.timestamp / 1000
    finally:
        await consumer.stop()


async def visibility_poller(http: httpx.AsyncClient, token: str, probes: Probes,
                            stop: asyncio.Event) -> None:
    async def watch(p: Probe) -> None:
        while not stop.is_set():
            r = await http.get("/v1/queue", params={"school_code": p.school},
                               headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 200 and r.json()["items"]:
                p.visible_at = time.time()
                return
            await asyncio.sleep(0.01)

    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            p = await asyncio.wait_for(probes.pending.get(), 0.5)
            t = asyncio.create_task(watch(p))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
    for t in list(tasks):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(t, 60)


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    qs = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else \
        values * 99
    return {"n": len(values), "p50_ms": round(qs[49] * 1000, 1),
            "p90_ms": round(qs[89] * 1000, 1), "p99_ms": round(qs[98] * 1000, 1),
            "max_ms": round(max(values) * 1000, 1)}


def start_review(state: Path, settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMIS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "TMIS_DATABASE_URL": settings.database_url, "TMIS_HTTP_PORT": str(port),
           "TMIS_ENV": "dev", "TMIS_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    log = (state / "review.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "services.review"], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def start_generator(args: argparse.Namespace, settings: Settings
                    ) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--generate", "--dsn", settings.database_url,
         "--bootstrap", settings.kafka_bootstrap, "--seconds", str(args.seconds),
         "--clients", str(args.clients), "--rate", str(args.rate),
         "--schools", str(args.schools)], cwd=REPO, stdout=subprocess.PIPE)


async def wait_healthy(http: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("review exited during start")
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("review did not become healthy")


async def generate(args: argparse.Namespace) -> None:
    """--generate: the load process (writers + the intake-like store's outbox relay)."""
    from shared.logging import configure_logging

    configure_logging("bench-intake", "WARNING")
    pool = await create_pool(args.dsn, max_size=20)
    intake = IntakeLike(pool, INTAKE_SCHEMA)
    producer = make_producer(args.bootstrap, "bench-intake")
    await producer.start()
    relay_stop, stop = asyncio.Event(), asyncio.Event()
    relay = OutboxRelay(args.dsn, INTAKE_SCHEMA, "intake", producer, idle_poll_seconds=0.2)
    relay_task = asyncio.create_task(relay.run(relay_stop))
    schools = [school_code(i) for i in range(args.schools)]
    load = Load(started=time.monotonic())
    period = args.clients / args.rate
    writers = [asyncio.create_task(client(intake, schools, period, stop, load, i))
               for i in range(args.clients)]
    await asyncio.sleep(args.seconds)
    stop.set()
    await asyncio.gather(*writers)
    load.stopped = time.monotonic()
    async with pool.acquire() as conn:  # let the relay publish what is left
        for _ in range(600):
            if not await conn.fetchval(f"SELECT count(*) FROM {INTAKE_SCHEMA}.outbox"):
                break
            await asyncio.sleep(0.1)
    relay_stop.set()
    await asyncio.wait_for(relay_task, 10)
    await producer.stop()
    await pool.close()
    print(json.dumps({"events_appended": load.appended, "append_errors": load.errors,
                      "achieved_events_per_s": round(
                          load.appended / (load.stopped - load.started), 1)}))


def school_code(i: int) -> str:
    return f"{6201000000 + i}"


async def run(args: argparse.Namespace, settings: Settings, state: Path) -> dict[str, Any]:
    pool = await create_pool(settings.database_url, max_size=4)
    await apply_migrations(pool, INTAKE_SCHEMA, [EVENTSTORE_MIGRATIONS])
    await ensure_topics(settings.kafka_bootstrap)
    intake = IntakeLike(pool, INTAKE_SCHEMA)
    for i in range(args.schools):
        await intake.append(f"school-{school_code(i)}", SchoolRegistered(
            school_code=school_code(i), profile=SchoolProfile(
                name=f"压测学校{i}", stage=Stage.PRIMARY,
                county_code=COUNTIES[i % len(COUNTIES)], city_code=CITY)))
    port = free_port()
    proc = start_review(state, settings, port)
    gen: subprocess.Popen[bytes] | None = None
    token = mint_token(settings, "province_admin")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     trust_env=False) as http:
            await wait_healthy(http, proc)
            probes = Probes()
            stop, watch_stop = asyncio.Event(), asyncio.Event()
            watcher = asyncio.create_task(kafka_watch(settings.kafka_bootstrap, probes,
                                                      watch_stop))
            poller = asyncio.create_task(visibility_poller(http, token, probes, watch_stop))
            gen = start_generator(args, settings)
            await asyncio.sleep(3.0)  # the writers ramp up
            prober = asyncio.create_task(probe_writer(intake, probes, stop, 0.25))
            await asyncio.sleep(max(1.0, args.seconds - 4.0))
            stop.set()
            await prober
            out, _ = await asyncio.to_thread(gen.communicate, None, 120)
            load = json.loads(out.decode().strip().splitlines()[-1])
            drain_started = time.monotonic()
            await _all_visible(probes)
            drained = time.monotonic() - drain_started
            watch_stop.set()
            await asyncio.gather(watcher, poller)
            kafka_lag = [p.visible_at - p.kafka_ts for p in probes.all.values()
                         if p.visible_at is not None and p.kafka_ts is not None]
            recorded_lag = [p.visible_at - p.recorded_at for p in probes.all.values()
                            if p.visible_at is not None]
            applied = await pool.fetchval("SELECT count(*) FROM review.teacher_facts")
            replay = await rebuild(settings, "review", batch_size=2000)
            result = {
                "load": {"clients": args.clients, "target_events_per_s": args.rate,
                         "seconds": args.seconds, **load, "probe_events": len(probes.all),
                         "probes_seen": len(kafka_lag),
                         "drain_after_load_s": round(drained, 2),
                         "teacher_events_in_projection": applied},
                "lag_kafka_to_queue": percentiles([max(0.0, x) for x in kafka_lag]),
                "lag_recorded_to_queue": percentiles([max(0.0, x) for x in recorded_lag]),
                "replay": replay.as_dict(),
            }
    finally:
        for p in (gen, proc):
            if p is not None and p.poll() is None:
                p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(15)
                if p.poll() is None:
                    p.kill()
        await pool.close()
    return result


async def _all_visible(probes: Probes) -> None:
    for _ in range(1200):
        if all(p.visible_at is not None for p in probes.all.values()):
            return
        await asyncio.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="load duration")
    parser.add_argument("--clients", type=int, default=200, help="concurrent writers")
    parser.add_argument("--rate", type=float, default=400, help="total events/s")
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        asyncio.run(generate(args))
        return 0
    state = Path(tempfile.mkdtemp(prefix="tmis-bench-review-"))
    state.chmod(0o755)
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        bootstrap, dsn = start_infra(state)
        settings = Settings(kafka_bootstrap=bootstrap, database_url=dsn, env="dev",
                            log_level="WARNING")
        from shared.logging import configure_logging

        configure_logging("bench-review", "WARNING")
        result = asyncio.run(run(args, settings, state))
    finally:
        stop_infra(state, delete=True)
        shutil.rmtree(state, ignore_errors=True)
    result = {
        "bench": "review", "command": "python bench/review_lag.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1m_before": round(load_before[0], 2),
                    "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "wall_seconds": round(time.monotonic() - started, 1),
        "notes": ("synthetic intake-shaped load (appends to an intake-like event store, "
                  "relayed to the real topics), not intake's HTTP API; the review service runs "
                  "as its own process; Kafka, PostgreSQL, the generator and review share the "
                  "machine"),
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
