"""The machine's own limits, measured on the same broker and server as the project's benches.

  kafka producer   org.apache.kafka.tools.ProducerPerformance (kafka-tools jar): records/s and
                   latency percentiles with acks=all and the idempotent producer, at the size of
                   a real TMIS message (a TeacherRegistered envelope)
  kafka consumer   org.apache.kafka.tools.ConsumerPerformance: records/s reading them back
  postgres COPY    asyncpg copy_records_to_table of event-store-shaped rows (jsonb payload of
                   the same size): rows/s; the fastest any service could possibly write events

    .venv/bin/python bench/machine.py [--records 200000] [--out bench/results/machine.json]

Uses TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL when both are set, else a throwaway stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.local.kafka import ensure_kafka_jars, java  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.events import TeacherRecord, TeacherRegistered  # noqa: E402
from shared.contracts.vocabulary import Gender, PostStatus, Stage  # noqa: E402

RESULTS = REPO / "bench" / "results" / "machine.json"


def sample_message() -> bytes:
    """A realistic TeacherRegistered envelope, as the relay publishes it."""
    record = TeacherRecord(
        name="张晓梅", id_number_masked="620102********9123", gender=Gender.FEMALE,
        birth_date=date(1985, 3, 4), ethnicity="汉族", political_status="中共党员",
        post_status=PostStatus.IN_POST, is_fulltime_teacher=True, stage_taught=Stage.PRIMARY,
        hire_date=date(2007, 9, 1), highest_education="本科", professional_title="一级教师",
        teacher_qualification="小学教师资格")
    payload = TeacherRegistered(teacher_id=str(uuid4()), school_code="6201020001",
                                record=record, completeness=1.0)
    now = datetime.now(UTC)
    env = Envelope(event_id=uuid4(), event_type="TeacherRegistered", schema_version=1,
                   source="intake", stream_id=f"teacher-{payload.teacher_id}", stream_version=1,
                   position=123456, occurred_at=now, recorded_at=now, actor="school_admin:1",
                   correlation_id=uuid4(), payload=payload.model_dump(mode="json"))
    return env.to_bytes()


def _tool(main: str, *args: str) -> str:
    jars = ensure_kafka_jars()
    cmd = [java(), "-Xmx512m", "-cp", f"{jars}/*", "-Dlog4j2.level=WARN", main, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    return done.stdout


def kafka_producer(bootstrap: str, topic: str, records: int, size: int) -> dict[str, Any]:
    out = _tool("org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
                "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
                "enable.idempotence=true", "linger.ms=5")
    last = [ln for ln in out.splitlines() if "records sent" in ln][-1]
    rate = float(re.search(r"([\d.]+) records/sec", last).group(1))  # type: ignore[union-attr]
    mb = float(re.search(r"\(([\d.]+) MB/sec\)", last).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"(\d+) ms 50th", last)
    p99 = re.search(r"(\d+) ms 99th", last)
    return {"records": records, "record_bytes": size, "records_per_s": rate, "mb_per_s": mb,
            "latency_ms_p50": int(p50.group(1)) if p50 else None,
            "latency_ms_p99": int(p99.group(1)) if p99 else None, "raw": last}


def kafka_consumer(bootstrap: str, topic: str, records: int) -> dict[str, Any]:
    out = _tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap,
                "--topic", topic, "--messages", str(records),
                "--group", f"bench-{uuid4().hex[:6]}")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    header = next(i for i, ln in enumerate(lines) if "nMsg.sec" in ln)
    cols = [c.strip() for c in lines[header].split(",")]
    values = [v.strip() for v in lines[header + 1].split(",")]
    stats = dict(zip(cols, values, strict=False))
    # fetch.nMsg.sec leaves out the consumer group's join; nMsg.sec includes it.
    return {"records": records, "records_per_s": float(stats["fetch.nMsg.sec"]),
            "records_per_s_incl_group_join": float(stats["nMsg.sec"]),
            "mb_per_s": float(stats["fetch.MB.sec"]), "raw": lines[header + 1]}


async def postgres_copy(database_url: str, rows: int, payload: bytes) -> dict[str, Any]:
    # A plain connection: asyncpg's built-in binary jsonb codec (COPY is binary) takes text.
    conn = await asyncpg.connect(database_url)
    table = f"bench_copy_{uuid4().hex[:8]}"
    text = payload.decode()
    try:
        await conn.execute(
            f"CREATE TABLE {table} (position bigserial PRIMARY KEY, event_id uuid UNIQUE, "
            "stream_id text, stream_version int, event_type text, occurred_at timestamptz, "
            "payload jsonb, UNIQUE (stream_id, stream_version))")
        now = datetime.now(UTC)
        records = [(uuid4(), f"teacher-{i}", 1, "TeacherRegistered", now, text)
                   for i in range(rows)]
        started = time.perf_counter()
        for i in range(0, rows, 20000):
            await conn.copy_records_to_table(
                table, records=records[i:i + 20000],
                columns=["event_id", "stream_id", "stream_version", "event_type",
                         "occurred_at", "payload"])
        seconds = time.perf_counter() - started
        return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


def measure(bootstrap: str, database_url: str, records: int) -> dict[str, Any]:
    message = sample_message()
    topic = f"bench.machine.{uuid4().hex[:6]}"
    producer = kafka_producer(bootstrap, topic, records, len(message))
    consumer = kafka_consumer(bootstrap, topic, records)
    copy = asyncio.run(postgres_copy(database_url, records, message))
    return {"message_bytes": len(message), "kafka_producer": producer,
            "kafka_consumer": consumer, "postgres_copy": copy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    bootstrap = os.environ.get("TMIS_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("TMIS_DATABASE_URL")
    started = time.time()
    if bootstrap and database_url:
        result = measure(bootstrap, database_url, args.records)
    else:
        from deploy.local.stack import start_infra, stop_infra

        with tempfile.TemporaryDirectory(prefix="tmis-bench-") as tmp:
            bootstrap, database_url = start_infra(Path(tmp) / "stack")
            try:
                result = measure(bootstrap, database_url, args.records)
            finally:
                stop_infra(Path(tmp) / "stack", delete=True)
    result = {"bench": "machine", "when": datetime.now(UTC).isoformat(timespec="seconds"),
              "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0],
              "seconds": round(time.time() - started, 1), **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "raw"}, indent=2,
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
