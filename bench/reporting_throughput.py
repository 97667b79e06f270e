"""Reporting's consumer and replay throughput at province shape: events per second.

Publishes synthetic but valid envelopes straight to the real topics with an idempotent
producer (keys = stream ids, per-stream versions, business times in order per entity, exactly
as intake's and review's outbox relays would), then runs the real reporting runtime
(shared.runtime.start_runtime with reporting's SPEC under a fresh schema) and measures how fast
its consumer catches up, phase by phase:

  A  schools + teachers   --schools SchoolRegistered, --teachers TeacherRegistered, and for a
                          share of them TeacherUpdated / TeacherTransferred / TeacherLeft later
  B  review decisions     per teacher RecordApproved (school), RecordApproved (county),
                          ReviewCompleted, on tmis.review.decision.v1
  C  replay               `tmis replay reporting` (entrypoints/replay.rebuild) of the same
                          schema from the whole log, with the runtime stopped

A phase publishes first (the runtime is stopped meanwhile), then starts the runtime and waits
until its consumer group's committed offsets reach the end offsets. Reported per phase: events,
seconds from runtime start to caught up, events/s; the steady rate (first to last applied
batch, without the group join); and CPU per event of this process (the runtime) and of the
PostgreSQL server, with the 1-minute load average: on a machine shared with other work the
wall-clock rates fall with the load, CPU per event much less. After C the projection tables are
compared with what the live consumer built (checksums per table): replay must equal live.

    .venv/bin/python bench/reporting_throughput.py [--schools 5000] [--teachers 100000]
        [--skip-replay] [--out bench/results/reporting_throughput.json] [--label after]

Uses TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL when both are set (the topics may then hold other
events too: they are counted), else starts a throwaway Kafka + PostgreSQL in a temp dir.
Results are merged into the --out JSON under --label (so "before" and "after" sit side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.reporting.bootstrap import SPEC  # noqa: E402
from services.reporting.entrypoints.consumers import TOPICS  # noqa: E402
from services.reporting.entrypoints.replay import rebuild  # noqa: E402
from shared.contracts.base import EventPayload  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.events import (  # noqa: E402
    ProofDocument,
    RecordApproved,
    ReviewCompleted,
    SchoolProfile,
    SchoolRegistered,
    TeacherLeft,
    TeacherRecord,
    TeacherRegistered,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.topics import topic_for_category  # noqa: E402
from shared.contracts.vocabulary import (  # noqa: E402
    Gender,
    LeaveReason,
    PostStatus,
    ReviewLevel,
    Stage,
)
from shared.db import create_pool  # noqa: E402
from shared.domain.divisions import divisions  # noqa: E402
from shared.kafka import ensure_topics, make_producer  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.runtime import group_id, start_runtime, stop_runtime  # noqa: E402
from shared.settings import Settings  # noqa: E402

T_SCHOOLS = datetime(2016, 9, 1, tzinfo=UTC)
T_TEACHERS = datetime(2016, 10, 1, tzinfo=UTC)
T_CHANGES = datetime(2016, 12, 1, tzinfo=UTC)
T_REVIEW = datetime(2017, 1, 10, tzinfo=UTC)
PROOF = ProofDocument(sha256="c" * 64, media_type="application/pdf", size_bytes=2048)
STAGES = (Stage.PRIMARY, Stage.PRIMARY, Stage.JUNIOR, Stage.KINDERGARTEN, Stage.SENIOR)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@contextlib.contextmanager
def stack() -> Iterator[tuple[str, str]]:
    bootstrap, url = os.environ.get("TMIS_KAFKA_BOOTSTRAP"), os.environ.get("TMIS_DATABASE_URL")
    if bootstrap and url:
        yield bootstrap, url
        return
    from deploy.local.stack import start_infra, stop_infra

    state = Path(tempfile.mkdtemp(prefix="tmis-bench-rt-"))
    state.chmod(0o755)
    try:
        yield start_infra(state)
    finally:
        stop_infra(state)
        shutil.rmtree(state, ignore_errors=True)


# --------------------------------------------------------------------------- synthetic events


class Log:
    """Builds envelopes as a source service's store would number them."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0
        self.versions: dict[str, int] = {}

    def envelope(self, stream_id: str, payload: EventPayload, at: datetime) -> Envelope:
        self.position += 1
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        return Envelope(
            event_id=uuid4(), event_type=payload.event_type,
            schema_version=payload.schema_version, source=self.source, stream_id=stream_id,
            stream_version=version, position=self.position, occurred_at=at,
            recorded_at=datetime.now(UTC), actor=f"bench-{self.source}",
            correlation_id=uuid4(), payload=payload.model_dump(mode="json"))


@dataclasses.dataclass
class Province:
    schools: list[tuple[str, str, str]]  # code, county, city
    teachers: list[tuple[str, str]]  # teacher id, school code at registration


def record(rng: random.Random, i: int) -> TeacherRecord:
    return TeacherRecord(
        name=f"{rng.choice(SURNAMES)}教师{i}", id_number_masked=f"6201**********{i % 10000:04d}",
        gender=rng.choice((Gender.MALE, Gender.FEMALE)),
        birth_date=date(1960 + rng.randrange(35), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        ethnicity="汉族", political_status="群众",
        post_status=PostStatus.IN_POST if rng.random() < 0.92 else PostStatus.NOT_IN_POST,
        is_fulltime_teacher=rng.random() < 0.9, stage_taught=Stage.PRIMARY,
        hire_date=date(1990 + rng.randrange(25), 9, 1), highest_education="本科",
        professional_title="二级教师", teacher_qualification="小学教师资格")


def phase_a(rng: random.Random, intake: Log, n_schools: int, n_teachers: int,
            change_share: float) -> tuple[Province, list[Envelope]]:
    counties = sorted(divisions().counties.values(), key=lambda c: c.code)
    out: list[Envelope] = []
    schools = []
    for i in range(n_schools):
        county = counties[i % len(counties)]
        code = f"B{uuid4().hex[:10]}"
        schools.append((code, county.code, county.city_code))
        out.append(intake.envelope(f"school-{code}", SchoolRegistered(
            school_code=code, profile=SchoolProfile(
                name=f"{county.name}第{i}学校", stage=STAGES[i % len(STAGES)],
                county_code=county.code, city_code=county.city_code,
                is_rural=i % 3 == 0)), T_SCHOOLS + timedelta(seconds=i)))
    teachers = []
    for i in range(n_teachers):
        tid, school = str(uuid4()), schools[i % n_schools][0]
        teachers.append((tid, school))
        out.append(intake.envelope(f"teacher-{tid}", TeacherRegistered(
            teacher_id=tid, school_code=school, record=record(rng, i),
            completeness=round(rng.uniform(0.5, 1.0), 2)),
            T_TEACHERS + timedelta(seconds=i * 0.1)))
    # a later wave of changes: updates, transfers, leaves (in business-time order per teacher)
    for i, (tid, school) in enumerate(teachers):
        r = rng.random()
        at = T_CHANGES + timedelta(seconds=i * 0.1)
        if r < change_share * 0.6:
            out.append(intake.envelope(f"teacher-{tid}", TeacherUpdated(
                teacher_id=tid, school_code=school, record=record(rng, i),
                changed_fields=("professional_title",), completeness=1.0), at))
        elif r < change_share * 0.85:
            to = schools[rng.randrange(n_schools)][0]
            out.append(intake.envelope(f"teacher-{tid}", TeacherTransferred(
                teacher_id=tid, from_school_code=school, to_school_code=to, proof=PROOF), at))
        elif r < change_share:
            out.append(intake.envelope(f"teacher-{tid}", TeacherLeft(
                teacher_id=tid, school_code=school, reason=LeaveReason.RETIRED), at))
    return Province(schools, teachers), out


def phase_b(province: Province, intake: Log, review: Log) -> list[Envelope]:
    """School approval, county approval, review completed: for the teacher's latest record
    version, after it (as the review service decides them)."""
    county_of = {code: county for code, county, _ in province.schools}
    out: list[Envelope] = []
    for i, (tid, school) in enumerate(province.teachers):
        version = intake.versions[f"teacher-{tid}"]
        county = county_of[school]
        at = T_REVIEW + timedelta(seconds=i * 0.3)
        stream = f"review-{tid}"
        for level, dt in ((ReviewLevel.SCHOOL, 0.0), (ReviewLevel.COUNTY, 0.1)):
            out.append(review.envelope(stream, RecordApproved(
                teacher_id=tid, level=level, record_version=version, school_code=school,
                county_code=county), at + timedelta(seconds=dt)))
        out.append(review.envelope(stream, ReviewCompleted(
            teacher_id=tid, record_version=version, school_code=school, county_code=county),
            at + timedelta(seconds=0.2)))
    return out


async def publish(bootstrap: str, envelopes: Sequence[Envelope]) -> float:
    producer = make_producer(bootstrap, f"bench-publisher-{uuid4().hex[:6]}")
    await producer.start()
    started = time.perf_counter()
    try:
        for i in range(0, len(envelopes), 20_000):
            futures = []
            for env in envelopes[i:i + 20_000]:
                category = env.stream_id.split("-", 1)[0]
                futures.append(await producer.send(
                    topic_for_category(category), value=env.to_bytes(),
                    key=env.stream_id.encode(),
                    headers=[("event_type", env.event_type.encode()),
                             ("event_id", str(env.event_id).encode())]))
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- measuring


class CpuMeter:
    """CPU seconds spent by this process (the reporting runtime runs in it) and by the
    PostgreSQL server listening on the database URL's port (postmaster and its children, read
    from /proc; None when it is not a local process). On a machine shared with other work,
    wall-clock rates fall with the load; CPU per event does not (much)."""

    def __init__(self, database_url: str) -> None:
        self.port = database_url.rsplit(":", 1)[-1].split("/", 1)[0]

    def _postgres(self) -> float | None:
        tick = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[int, float]] = {}
        master = None
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # utime + stime, and for the postmaster also cutime + cstime: the backends it
            # already reaped (a pool closed before the reading) count too
            stats[int(pid)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
            if cmd and cmd[0].endswith(b"postgres") and b"-p" in cmd and \
                    cmd[cmd.index(b"-p") + 1] == self.port.encode():
                master = int(pid)
        if master is None:
            return None
        children = sum(cpu for pid, (ppid, cpu) in stats.items() if ppid == master)
        return stats[master][1] + children

    def read(self) -> tuple[float, float | None]:
        return time.process_time(), self._postgres()

    @staticmethod
    def per_event(start: tuple[float, float | None], end: tuple[float, float | None],
                  events: int) -> dict[str, Any]:
        py = (end[0] - start[0]) / max(events, 1) * 1e6
        pg = None if start[1] is None or end[1] is None else \
            (end[1] - start[1]) / max(events, 1) * 1e6
        out: dict[str, Any] = {"python_cpu_us_per_event": round(py, 1),
                               "postgres_cpu_us_per_event": None if pg is None else round(pg, 1)}
        if pg is not None:
            out["events_per_cpu_second"] = round(1e6 / (py + pg), 1)
        return out


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await reader.start()
    try:
        tps = []
        for topic in TOPICS:
            parts = reader.partitions_for_topic(topic)
            while not parts:
                await reader._client.force_metadata_update()
                parts = reader.partitions_for_topic(topic)
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        ends: dict[TopicPartition, int] = await reader.end_offsets(tps)
        return ends
    finally:
        await reader.stop()


async def committed_behind(admin: AIOKafkaAdminClient, group: str,
                           ends: dict[TopicPartition, int]) -> int:
    committed = await admin.list_consumer_group_offsets(group)
    behind = 0
    for tp, end in ends.items():
        done = committed.get(tp)
        behind += end - (done.offset if done is not None and done.offset >= 0 else 0)
    return behind


async def live_phase(settings: Settings, schema: str, expected_new: int) -> dict[str, Any]:
    """Start the real runtime, wait until its group is caught up with the log, stop it."""
    ends = await end_offsets(settings.kafka_bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    spec = dataclasses.replace(SPEC, schema=schema)
    meter = CpuMeter(settings.database_url)
    cpu_start = meter.read()
    started = time.perf_counter()
    runtime, broker, tasks, stop = await start_runtime(spec, settings)
    members = [c for c in runtime.consumers if c.name == "reporting"]
    first: float | None = None
    last_count, last_change = 0, started
    try:
        while True:
            await asyncio.sleep(0.25)
            count = sum(c.applied + c.skipped for c in members)
            now = time.perf_counter()
            if count and first is None:
                first = now
            if count != last_count:
                last_count, last_change = count, now
            if count >= expected_new and \
                    await committed_behind(admin, group_id(schema, "reporting"), ends) <= 0:
                break
            if now - last_change > 120:
                raise RuntimeError(f"consumer stalled at {count} of {expected_new}")
        seconds = time.perf_counter() - started
        cpu_end = meter.read()
    finally:
        await stop_runtime(runtime, broker, tasks, stop)
        await admin.close()
    steady = (last_change - first) if first is not None else 0.0
    return {"events": last_count, "applied": sum(c.applied for c in members),
            "group_members": len(members),
            "seconds_incl_start": round(seconds, 2),
            "events_per_second": round(last_count / seconds, 1),
            "steady_seconds": round(steady, 2),
            "steady_events_per_second": round(last_count / steady, 1) if steady else None,
            "consumer_batch": spec.consumer_batch,
            **CpuMeter.per_event(cpu_start, cpu_end, last_count),
            "loadavg_1min": round(os.getloadavg()[0], 2)}


CHECKSUM_TABLES = ("entity_events", "school_versions", "teacher_versions")


async def checksums(url: str, schema: str) -> dict[str, Any]:
    pool = await create_pool(url, max_size=1)
    try:
        out: dict[str, Any] = {}
        async with pool.acquire() as conn:
            for table in CHECKSUM_TABLES:
                out[table] = dict(await conn.fetchrow(
                    f"SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) "
                    f"AS md5 FROM {schema}.{table} t"))
            out["current_teachers"] = dict(await conn.fetchrow(
                f"SELECT count(*) AS n, count(*) FILTER (WHERE in_post AND NOT has_left) AS "
                "staff, count(*) FILTER (WHERE reviewed_version >= record_version "
                f"AND record_version > 0) AS reviewed FROM {schema}.teacher_versions "
                "WHERE valid_to = 'infinity'"))
        return out
    finally:
        await pool.close()


async def run(args: argparse.Namespace, bootstrap: str, url: str) -> dict[str, Any]:
    settings = Settings(kafka_bootstrap=bootstrap, database_url=url, env="test",
                        log_level="WARNING")
    configure_logging("reporting-bench", "WARNING")
    await ensure_topics(bootstrap)
    rng = random.Random(args.seed)
    intake, review = Log("intake"), Log("review")
    schema = f"reporting_rt{uuid4().hex[:6]}"
    result: dict[str, Any] = {"schema": schema}

    province, a_events = phase_a(rng, intake, args.schools, args.teachers, args.change_share)
    before = sum((await end_offsets(bootstrap)).values())
    result["publish_a_seconds"] = round(await publish(bootstrap, a_events), 1)
    published = len(a_events)
    # A service process does not hold the log in memory: neither may the one measured here
    # (hundreds of thousands of live objects would make every garbage collection dearer).
    del a_events
    gc.collect()
    result["A_schools_and_teachers"] = {
        "published": published, "already_in_log": before,
        **await live_phase(settings, schema, before + published)}
    print(json.dumps(result, indent=2), flush=True)

    b_events = phase_b(province, intake, review)
    result["publish_b_seconds"] = round(await publish(bootstrap, b_events), 1)
    published = len(b_events)
    del b_events, province, intake, review
    gc.collect()
    result["B_review_decisions"] = {"published": published,
                                    **await live_phase(settings, schema, published)}
    print(json.dumps(result, indent=2), flush=True)
    live = await checksums(url, schema)
    result["live_tables"] = {k: v.get("n") for k, v in live.items()} | {
        "current_teachers": live["current_teachers"]}
    if not args.skip_replay:
        meter = CpuMeter(url)
        cpu_start = meter.read()
        stats = await rebuild(settings, schema, batch_size=args.replay_batch,
                              workers=args.replay_workers)
        result["C_replay"] = {**stats.as_dict(), "batch": args.replay_batch,
                              "workers": args.replay_workers,
                              **CpuMeter.per_event(cpu_start, meter.read(), stats.messages),
                              "loadavg_1min": round(os.getloadavg()[0], 2)}
        rebuilt = await checksums(url, schema)
        result["replay_equals_live"] = rebuilt == live
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=5_000)
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--change-share", type=float, default=0.08,
                        help="share of teachers with a later update/transfer/leave")
    parser.add_argument("--replay-batch", type=int, default=2000)
    parser.add_argument("--replay-workers", type=int, default=2)
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" /
                                             "reporting_throughput.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    with stack() as (bootstrap, url):
        result = asyncio.run(run(args, bootstrap, url))
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    result["command"] = "python bench/reporting_throughput.py " + " ".join(sys.argv[1:])
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(),
                         "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]}
    out = Path(args.out)
    merged: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    merged[args.label] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, ensure_ascii=False, indent=2, default=_json) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2, default=_json))
    return 0


def _json(v: Any) -> Any:
    if isinstance(v, UUID | datetime):
        return str(v)
    raise TypeError(type(v))


if __name__ == "__main__":
    sys.exit(main())
