"""Review bench: consumer throughput until caught up, and bulk decision throughput.

    .venv/bin/python bench/review_throughput.py [--teachers 100000] [--batch 1000]
        [--schools 2000] [--decisions N] [--concurrency 1] [--occurred-at ISO] [--label after]
        [--fresh-stack]

Runs on the stack named by TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL (as `make bench` sets
them), else (or with --fresh-stack) on its own throwaway Kafka + PostgreSQL
(deploy.local.stack.start_infra in a temp dir). A fresh consumer group reads every message on
intake's topics, older runs' too: the consumer figure counts them all (they are real work).

1. Consumer: produces `--schools` SchoolRegistered and `--teachers` TeacherRegistered
   envelopes straight to intake's topics (as intake's relay would publish them), then starts
   the review service **in this process** (the real runtime: pool, migrations, consumer, relay,
   under a fresh schema, hence a fresh consumer group reading from offset 0) and times the
   consumer from its first applied event until it has handled every message on the topics.
2. Decisions: every teacher is approved at school level, then at county level, through
   POST /v1/decisions with a service account's token, `--batch` items per request, over an
   in-process ASGI client (httpx.ASGITransport: no sockets, the same FastAPI app). Each
   approval appends RecordApproved (+ ReviewCompleted at county level) through the outbox and
   updates the projection; the service's own relay publishes the outbox meanwhile, in the same
   process, as in production. Reported: items/s per level, and how long the relay took to
   drain the outbox after the last request.

Results are merged into bench/results/review_throughput.json under `--label` (e.g. "before",
"after"), so one file holds both runs.
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
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.local.stack import start_infra, stop_infra  # noqa: E402
from services.review.bootstrap import SPEC  # noqa: E402
from services.review.config import review_config  # noqa: E402
from shared.auth import mint_token  # noqa: E402
from shared.contracts.base import EventPayload  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.events import (  # noqa: E402
    SchoolProfile,
    SchoolRegistered,
    TeacherRecord,
    TeacherRegistered,
)
from shared.contracts.vocabulary import Gender, PostStatus, Stage  # noqa: E402
from shared.db import create_pool, drop_schema  # noqa: E402
from shared.domain.idnumber import mask, synthetic_id_number  # noqa: E402
from shared.kafka import ensure_topics  # noqa: E402
from shared.runtime import build_app, start_runtime, stop_runtime  # noqa: E402
from shared.settings import Settings  # noqa: E402

SCHOOL_TOPIC = "tmis.intake.school.v1"
TEACHER_TOPIC = "tmis.intake.teacher.v1"
COUNTIES = ("620102", "620103", "620104", "620105", "620111", "620121", "620122", "620123")
CITY = "620100"
RESULTS = REPO / "bench" / "results" / "review_throughput.json"
T0 = datetime(2017, 3, 1, 1, tzinfo=UTC)


def say(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def a_record(rng: random.Random) -> TeacherRecord:
    birth = date(1965 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28))
    gender = rng.choice(["male", "female"])
    return TeacherRecord(
        name=f"压测{rng.randrange(10**7)}", gender=Gender(gender),
        id_number_masked=mask(synthetic_id_number(rng, "620102", birth, gender)),
        birth_date=birth, ethnicity="汉族", post_status=PostStatus.IN_POST,
        is_fulltime_teacher=True, stage_taught=Stage.PRIMARY,
        hire_date=birth.replace(year=birth.year + 22), highest_education="本科",
        teacher_qualification="小学教师资格")


def envelope(stream_id: str, position: int, event: EventPayload, at: datetime) -> Envelope:
    return Envelope(event_id=uuid4(), event_type=event.event_type,
                    schema_version=event.schema_version, source="intake", stream_id=stream_id,
                    stream_version=1, position=position, occurred_at=at, recorded_at=at,
                    actor="bench", correlation_id=uuid4(),
                    payload=event.model_dump(mode="json"))


async def produce(bootstrap: str, schools: list[str], teachers: int, seed: int
                  ) -> dict[str, Any]:
    """Publish the schools and the teachers' TeacherRegistered to intake's topics."""
    rng = random.Random(seed)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                max_batch_size=512 * 1024, enable_idempotence=True)
    await producer.start()
    started = time.perf_counter()
    position = 0
    try:
        pending = []
        for i, code in enumerate(schools):
            position += 1
            env = envelope(f"school-{code}", position, SchoolRegistered(
                school_code=code, profile=SchoolProfile(
                    name=f"压测学校{i}", stage=Stage.PRIMARY,
                    county_code=COUNTIES[i % len(COUNTIES)], city_code=CITY)), T0)
            pending.append(await producer.send(SCHOOL_TOPIC, env.to_bytes(),
                                               key=env.stream_id.encode()))
        for i in range(teachers):
            position += 1
            tid = str(uuid4())
            env = envelope(f"teacher-{tid}", position, TeacherRegistered(
                teacher_id=tid, school_code=schools[i % len(schools)], record=a_record(rng),
                completeness=1.0), T0 + timedelta(seconds=i))
            pending.append(await producer.send(TEACHER_TOPIC, env.to_bytes(),
                                               key=env.stream_id.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    seconds = time.perf_counter() - started
    return {"messages": len(schools) + teachers, "seconds": round(seconds, 2)}


def cpu_seconds(state: Path | None) -> dict[str, float]:
    """CPU time used so far by this process and, for a stack this bench started, by its
    PostgreSQL (postmaster, its live backends, its exited children) and its Kafka broker: a
    measure that, unlike events/s, does not depend on what else the machine is running."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"bench_process": round(time.process_time(), 2)}
    if state is None:
        return out
    stats: dict[int, list[str]] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdlines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(
                b"\0", b" ").decode(errors="replace")
    where = str(state)
    pg = [pid for pid, cmd in cmdlines.items() if where in cmd and "postgres" in cmd
          and "-D" in cmd]
    kafka = [pid for pid, cmd in cmdlines.items() if where in cmd and "kafka.Kafka" in cmd]
    own = sum(int(stats[p][11]) + int(stats[p][12]) + int(stats[p][13]) + int(stats[p][14])
              for p in pg)
    children = sum(int(f[11]) + int(f[12]) for pid, f in stats.items()
                   if pg and int(f[1]) in pg)
    out["postgres"] = round((own + children) / tick, 2)
    out["kafka"] = round(sum(int(stats[p][11]) + int(stats[p][12]) for p in kafka) / tick, 2)
    return out


def cpu_used(before: dict[str, float], after: dict[str, float], count: int, unit: str
             ) -> dict[str, Any]:
    used = {k: round(after[k] - before.get(k, 0.0), 2) for k in after}
    return {"cpu_seconds": used,
            f"cpu_us_per_{unit}": {k: round(v / max(count, 1) * 1e6) for k, v in used.items()}}


async def topic_messages(bootstrap: str) -> int:
    """How many messages intake's topics hold now (what a fresh consumer group reads)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        total = 0
        for topic in (SCHOOL_TOPIC, TEACHER_TOPIC):
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends, starts = await consumer.end_offsets(tps), await consumer.beginning_offsets(tps)
            total += sum(ends[tp] - starts[tp] for tp in tps)
        return total
    finally:
        await consumer.stop()


async def wait_caught_up(consumer: Any, expected: int, timeout: float) -> dict[str, Any]:
    """Poll the in-process consumer's counters (not the database: a count(*) every few ms
    would itself load PostgreSQL) until it has handled every message of the topics."""
    started = time.perf_counter()
    first: float | None = None
    deadline = started + timeout
    while consumer.applied + consumer.skipped < expected and time.perf_counter() < deadline:
        if first is None and consumer.applied > 0:
            first = time.perf_counter()
        await asyncio.sleep(0.02)
    done = time.perf_counter()
    first = first or started
    return {"messages": expected, "from_start_s": round(done - started, 2),
            "from_first_event_s": round(done - first, 2),
            "events_applied": consumer.applied,
            "events_per_s": round(consumer.applied / max(done - first, 1e-9), 1)}


async def decide_all(http: httpx.AsyncClient, token: str, work: list[tuple[str, int]],
                     level: str, batch: int, concurrency: int, occurred_at: str | None
                     ) -> dict[str, Any]:
    chunks = [work[i:i + batch] for i in range(0, len(work), batch)]
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    queue: asyncio.Queue[list[tuple[str, int]]] = asyncio.Queue()
    for c in chunks:
        queue.put_nowait(c)

    async def worker() -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            body: dict[str, Any] = {"decisions": [
                {"teacher_id": t, "record_version": v, "decision": "approve", "level": level}
                for t, v in chunk]}
            if occurred_at:
                body["occurred_at"] = occurred_at
            t = time.perf_counter()
            r = await http.post("/v1/decisions", json=body,
                                headers={"Authorization": f"Bearer {token}"})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                statuses[r.status_code] = statuses.get(r.status_code, 0) + len(chunk)
                continue
            for res in r.json()["results"]:
                statuses[res["status"]] = statuses.get(res["status"], 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    latencies.sort()
    return {"items": len(work), "requests": len(chunks), "seconds": round(seconds, 2),
            "items_per_s": round(len(work) / seconds, 1),
            "request_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "request_max_ms": round(latencies[-1] * 1000, 1),
            "results_by_status": {str(k): v for k, v in sorted(statuses.items())}}


async def drain(pool: Any, schema: str, timeout: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if not await pool.fetchval(f"SELECT count(*) FROM {schema}.outbox"):
            break
        await asyncio.sleep(0.1)
    return round(time.perf_counter() - started, 2)


async def run(args: argparse.Namespace, settings: Settings, state: Path | None
              ) -> dict[str, Any]:
    schema = f"review_tp{uuid4().hex[:8]}"
    prefix = uuid4().hex[:4].upper()
    schools = [f"B{prefix}{i:05d}" for i in range(args.schools)]
    await ensure_topics(settings.kafka_bootstrap)
    produced = await produce(settings.kafka_bootstrap, schools, args.teachers, args.seed)
    say("produced", produced)
    on_topics = await topic_messages(settings.kafka_bootstrap)
    pool = await create_pool(settings.database_url, max_size=2)
    spec = dataclasses.replace(SPEC, schema=schema)
    app = build_app(spec, settings)
    cpu0 = cpu_seconds(state)
    runtime, broker, tasks, stop = await start_runtime(spec, settings)
    app.state.runtime = runtime
    try:
        consumer = await wait_caught_up(runtime.consumers[0], on_topics, args.timeout)
        consumer.update(cpu_used(cpu0, cpu_seconds(state), consumer["events_applied"],
                                 "event"))
        consumer["batch_max_records"] = spec.consumer_batch
        rows = await pool.fetch(
            f"SELECT teacher_id, record_version FROM {schema}.items "
            "WHERE school_code LIKE $1 ORDER BY teacher_id", f"B{prefix}%")
        consumer["bench_teachers_in_review"] = len(rows)
        say("consumer caught up", consumer)
        work = [(r["teacher_id"], r["record_version"]) for r in rows][:args.decisions]
        token = mint_token(settings, "service", subject="service:bench")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     timeout=600) as http:
            cpu1 = cpu_seconds(state)
            school = await decide_all(http, token, work, "school", args.batch,
                                      args.concurrency, args.occurred_at)
            say("school approvals", school)
            county = await decide_all(http, token, work, "county", args.batch,
                                      args.concurrency, args.occurred_at)
        drained = await drain(pool, schema)
        decided_cpu = cpu_used(cpu1, cpu_seconds(state), school["items"] + county["items"],
                               "item")
        complete = await pool.fetchval(
            f"SELECT count(*) FROM {schema}.items WHERE status = 'county_approved'")
        events = await pool.fetchval(f"SELECT count(*) FROM {schema}.events")
        both = school["items"] + county["items"]
        return {
            "produced": produced,
            "consumer": consumer,
            "decisions": {
                "batch": args.batch, "concurrency": args.concurrency,
                "occurred_at": args.occurred_at, "school": school, "county": county,
                "items_per_s_overall": round(both / (school["seconds"] + county["seconds"]), 1),
                "outbox_drain_after_s": drained, "county_approved_items": complete,
                "review_events_appended": events,
                **decided_cpu,
            },
        }
    finally:
        await stop_runtime(runtime, broker, tasks, stop)
        if not args.keep_schema:
            with contextlib.suppress(Exception):
                await drop_schema(pool, schema)
        await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--decisions", type=int, default=None,
                        help="approve only the first N teachers (default: all)")
    parser.add_argument("--batch", type=int, default=1000, help="items per POST /v1/decisions")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    parser.add_argument("--occurred-at", default=None,
                        help="business time sent with every decision request (ISO datetime)")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--label", default="after", help="key of this run in the results file")
    parser.add_argument("--fresh-stack", action="store_true",
                        help="start a throwaway stack even if TMIS_KAFKA_BOOTSTRAP and "
                             "TMIS_DATABASE_URL name one (as `make bench` does)")
    parser.add_argument("--keep-schema", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TMIS_REVIEW_BATCH_MAX", str(max(args.batch, 1000)))
    review_config.cache_clear()  # SPEC's import read the environment before we set it
    from shared.logging import configure_logging

    configure_logging("bench-review", "WARNING")
    started = time.monotonic()
    load_before = os.getloadavg()
    state: Path | None = None
    try:
        bootstrap = os.environ.get("TMIS_KAFKA_BOOTSTRAP", "")
        dsn = os.environ.get("TMIS_DATABASE_URL", "")
        if args.fresh_stack or not (bootstrap and dsn):
            state = Path(tempfile.mkdtemp(prefix="tmis-bench-review-tp-"))
            state.chmod(0o755)
            bootstrap, dsn = start_infra(state)
        settings = Settings(kafka_bootstrap=bootstrap, database_url=dsn, env="dev",
                            log_level="WARNING")
        result = asyncio.run(run(args, settings, state))
    finally:
        if state is not None:
            stop_infra(state, delete=True)
            shutil.rmtree(state, ignore_errors=True)
    run_result = {
        "command": "python bench/review_throughput.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1m_before": round(load_before[0], 2),
                    "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "wall_seconds": round(time.monotonic() - started, 1),
        "notes": ("intake's events are produced straight to its topics before review starts; "
                  "review runs in the bench's process (real runtime, fresh schema and consumer "
                  "group); decisions go through an in-process ASGI client (httpx.ASGITransport) "
                  "with a service account; Kafka, PostgreSQL and the bench share the machine"),
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    merged: dict[str, Any] = {}
    if RESULTS.exists():
        with contextlib.suppress(ValueError):
            merged = json.loads(RESULTS.read_text(encoding="utf-8"))
    merged["bench"] = "review_throughput"
    merged[args.label] = run_result
    RESULTS.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(run_result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
