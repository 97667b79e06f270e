"""Bench: intake's durable write path beside the machine's floor and a peer, in one run.

    .venv/bin/python bench/intake_submissions.py [--seconds 20] [--rows 50000]

Starts a throwaway Kafka + PostgreSQL (deploy.local.stack.start_infra: PostgreSQL with fsync,
synchronous_commit and full_page_writes on; Kafka acks=all, idempotent producers), or uses
TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL when both are set. Then, on that same server:

  floor     a plain asyncpg loop of durable single-event transactions (an event row and its
            outbox row) at 20 and 100 connections: what PostgreSQL commits on this machine
  peer      the `eventsourcing` library (PyPI, its PostgreSQL recorder) appending one event
            per new aggregate from 20 writer threads
  kafka     Kafka's own ProducerPerformance with production batch settings (acks=all,
            idempotence, batch.size 512 KiB, linger 5 ms, lz4) at a TeacherRegistered's size:
            the bus's limit
  intake    `python -m services.intake` as `tmis up` runs it (the supervisor: HTTP with
            TMIS_HTTP_WORKERS uvicorn workers, the outbox relay a process of its own), driven
            by wrk (Debian's package) from its own process at 50 and 200 connections, each
            request a distinct synthetic teacher of one of 100 schools; then a --rows CSV import
            of one school, and the same file again

Every figure comes with the CPU seconds each process group used meanwhile (intake, its relay,
PostgreSQL, Kafka, the load client), so the record shows where the time went and that the
load client was not the bottleneck. Results: bench/results/intake.json. Not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import _tool, sample_message  # noqa: E402
from services.intake.domain.importing import COLUMNS  # noqa: E402
from shared.auth import mint_token  # noqa: E402
from shared.contracts.vocabulary import Gender  # noqa: E402
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool  # noqa: E402
from shared.domain.divisions import divisions  # noqa: E402
from shared.domain.idnumber import synthetic_id_number  # noqa: E402
from shared.settings import Settings  # noqa: E402

RESULTS = REPO / "bench" / "results" / "intake.json"
PARTS = ("floor", "peer", "kafka", "submissions", "import")
SCHOOLS = 100
WRK_SCRIPT = """
-- One request per synthetic teacher: each wrk thread takes every n-th line of the file
-- (token TAB body), so no two requests carry the same person.
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local nthreads = tonumber(args[2])
  lines = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then table.insert(lines, line) end
    i = i + 1
  end
  at = 0
end
function request()
  at = at + 1
  local line = lines[((at - 1) % #lines) + 1]
  local tab = string.find(line, "\\t")
  return wrk.format("POST", "/v1/teachers",
    {["Authorization"] = "Bearer " .. string.sub(line, 1, tab - 1),
     ["Content-Type"] = "application/json"}, string.sub(line, tab + 1))
end
"""


class People:
    """Distinct made-up people: synthetic ID numbers never repeat within a run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()
        self.counties = sorted(divisions().counties)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        rng = self.rng
        while True:
            born = date(rng.randint(1960, 1996), rng.randint(1, 12), rng.randint(1, 28))
            gender = rng.choice([Gender.MALE, Gender.FEMALE])
            number = synthetic_id_number(rng, rng.choice(self.counties), born, gender)
            if number not in self.seen:
                self.seen.add(number)
                break
        return {"name": f"教师{len(self.seen)}", "id_number": number, "gender": gender.value,
                "birth_date": born.isoformat(), "ethnicity": rng.choice(["汉族", "回族", "藏族"]),
                "post_status": "in_post", "is_fulltime_teacher": rng.random() < 0.85,
                "hire_date": date(born.year + 22, 9, 1).isoformat(),
                "stage_taught": rng.choice(["primary", "junior", "senior"]),
                "professional_title": rng.choice([None, "一级教师", "二级教师"])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------ CPU accounting


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


ROOTS: dict[str, int] = {}  # group name -> root pid (filled once the processes run)


def _ppids() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = int(fields[1])
    return out


def find_root(needle: str) -> int | None:
    """The oldest process whose command line contains `needle`."""
    pids = sorted(int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit())
    return next((pid for pid in pids if needle in _cmdline(pid)), None)


def cpu_by_group() -> dict[str, float]:
    """CPU seconds so far of each process tree of ROOTS (this run's PostgreSQL, Kafka and
    intake; intake's relay child counted apart). Processes that ended are missing."""
    parents = _ppids()
    out: dict[str, float] = {}
    for group, root in ROOTS.items():
        for pid in parents:
            up, seen = pid, 0
            while up not in (0, 1, root) and seen < 50:
                up, seen = parents.get(up, 0), seen + 1
            if up != root:
                continue
            name = group
            if group == "intake_http" and "services.intake relay" in _cmdline(pid):
                name = "intake_relay"
            out[name] = out.get(name, 0.0) + _proc_cpu(pid)
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 2) for k in sorted(after)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------------------ floor and peer


async def floor(database_url: str, connections: int, seconds: float) -> dict[str, Any]:
    """Durable single-event transactions: BEGIN, one event row, its outbox row, COMMIT."""
    schema = f"floor_{uuid4().hex[:8]}"
    pool = await create_pool(database_url, min_size=connections, max_size=connections)
    await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS])
    payload = json.loads(sample_message())["payload"]
    done = 0
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                async with conn.transaction():
                    await conn.execute(
                        f"WITH e AS (INSERT INTO {schema}.events (event_id, stream_id, "
                        "stream_version, event_type, schema_version, occurred_at, actor, "
                        "correlation_id, payload) VALUES ($1, $2, 1, 'TeacherRegistered', 1, "
                        "now(), 'bench', $1, $3) RETURNING position) "
                        f"INSERT INTO {schema}.outbox (position) SELECT position FROM e",
                        uuid4(), f"teacher-{uuid4()}", payload)
                latencies.append(time.perf_counter() - t0)
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()
    return {"connections": connections, "transactions": done,
            "per_s": round(done / elapsed, 1), "latency_ms": _percentiles(latencies)}


def peer_eventsourcing(database_url: str, writers: int, seconds: float) -> dict[str, Any]:
    """The eventsourcing library's PostgreSQL recorder: one new aggregate (one event) per
    save, `writers` threads. Skipped with a reason when the library is not installed."""
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
    except ImportError as exc:
        return {"skipped": f"eventsourcing not installed ({exc}); pip install "
                           "'eventsourcing[postgres]' (make bench does)"}
    dsn = re.match(r"postgresql://(\w+)@([\d.]+):(\d+)/(\w+)", database_url)
    assert dsn, database_url
    user, host, port, dbname = dsn.groups()
    table_schema = f"es_peer_{uuid4().hex[:6]}"
    payload = json.loads(sample_message())["payload"]

    class Teacher(Aggregate):
        @event("Registered")
        def __init__(self, record: dict[str, Any]) -> None:
            self.record = record

    env = {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": dbname,
           "POSTGRES_HOST": host, "POSTGRES_PORT": port, "POSTGRES_USER": user,
           "POSTGRES_PASSWORD": "", "POSTGRES_SCHEMA": table_schema,
           "POSTGRES_POOL_SIZE": str(writers), "POSTGRES_MAX_OVERFLOW": "0",
           "CREATE_TABLE": "y"}
    with asyncpg_sync(database_url) as run:
        run(f"CREATE SCHEMA {table_schema}")
    app = Application(env=env)
    app.save(Teacher(payload))  # tables made, connections warm
    done = 0
    lock = threading.Lock()
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    def writer() -> None:
        nonlocal done
        mine: list[float] = []
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            app.save(Teacher(payload))
            mine.append(time.perf_counter() - t0)
        with lock:
            done += len(mine)
            latencies.extend(mine)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    app.close()
    with asyncpg_sync(database_url) as run:
        run(f"DROP SCHEMA {table_schema} CASCADE")
    return {"library": "eventsourcing", "writers": writers, "events": done,
            "per_s": round(done / elapsed, 1), "latency_ms": _percentiles(latencies)}


class asyncpg_sync:
    """Run a few statements synchronously (setup of the peer's schema)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    def __enter__(self) -> Callable[[str], None]:
        def run(sql: str) -> None:
            async def go() -> None:
                conn = await asyncpg.connect(self.url)
                try:
                    await conn.execute(sql)
                finally:
                    await conn.close()
            asyncio.run(go())
        return run

    def __exit__(self, *exc: object) -> None:
        return None


def kafka_limit(bootstrap: str, records: int) -> dict[str, Any]:
    """ProducerPerformance with the settings our producers use."""
    size = len(sample_message())
    topic = f"bench.producer.{uuid4().hex[:6]}"
    out = _tool("org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
                "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
                "enable.idempotence=true", "linger.ms=5", "batch.size=524288",
                "compression.type=lz4")
    last = [ln for ln in out.splitlines() if "records sent" in ln][-1]
    rate = float(re.search(r"([\d.]+) records/sec", last).group(1))  # type: ignore[union-attr]
    return {"records": records, "record_bytes": size, "records_per_s": rate,
            "settings": "acks=all enable.idempotence=true linger.ms=5 batch.size=524288 "
                        "compression.type=lz4", "raw": last}


# ------------------------------------------------------------------------------ intake


def start_intake(bootstrap: str, database_url: str, schema: str, log: Path,
                 workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "TMIS_KAFKA_BOOTSTRAP": bootstrap, "TMIS_DATABASE_URL": database_url,
           "TMIS_HTTP_PORT": str(port), "TMIS_ENV": "test", "TMIS_LOG_LEVEL": "WARNING",
           "TMIS_DB_POOL_SIZE": "20", "TMIS_INTAKE_SCHEMA_NAME": schema,
           "TMIS_HTTP_WORKERS": str(workers)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    stop_intake(proc)
    raise RuntimeError(f"intake did not start; see {log}")


class profiled:
    """py-spy records every process under `root` (the supervisor and its workers) while the
    block runs, one flame graph per part (`--profile DIR`); a no-op without DIR."""

    def __init__(self, folder: Path | None, root: int, label: str) -> None:
        self.folder, self.root, self.label = folder, root, label
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.proc = subprocess.Popen(
            [spy, "record", "--pid", str(self.root), "--subprocesses", "--nonblocking",
             *(["--native"] if os.environ.get("TMIS_BENCH_NATIVE") else []),
             "--rate", "50", "--format", "raw", "-o", str(self.folder / f"{self.label}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def stop_intake(proc: subprocess.Popen[bytes]) -> None:
    with_group = os.getpgid(proc.pid)
    os.killpg(with_group, 15)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(with_group, 9)


def bodies_file(path: Path, settings: Settings, schools: list[str], people: People,
                count: int) -> None:
    tokens = {s: mint_token(settings, "school_admin", school_code=s) for s in schools}
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            school = schools[i % len(schools)]
            body = json.dumps({"school_code": school, "record": next(people)},
                              ensure_ascii=False)
            out.write(f"{tokens[school]}\t{body}\n")


def wrk(url: str, connections: int, seconds: float, bodies: Path, threads: int = 2
        ) -> dict[str, Any]:
    script = bodies.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(seconds)}s",
           "--latency", "--timeout", "30s", "-s", str(script), url, "--", str(bodies),
           str(threads)]
    cpu0, wall0 = children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120,
                          check=True)
    wall, client_cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    out = done.stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M))
    return {"connections": connections, "requests": total,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None,
            "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)",  # type: ignore[union-attr]
                                              out).group(1)),
            "latency_ms": {k: _ms(v) for k, v in pct.items()},
            "client": "wrk (Debian package), its own process",
            "client_cpu_s": round(client_cpu, 2), "wall_s": round(wall, 2),
            "raw": out.strip().splitlines()[-12:]}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 2)


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    ordered = sorted(latencies)
    return {"p50": round(statistics.median(ordered) * 1000, 2),
            "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2)}


async def count_events(database_url: str, schema: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(
            f"SELECT count(*) FROM {schema}.events WHERE event_type = 'TeacherRegistered'"))
    finally:
        await conn.close()


async def outbox_drained(database_url: str, schema: str) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(database_url)
    try:
        while await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox"):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return time.perf_counter() - started


def import_file(people: People, rows: int) -> bytes:
    words = {"male": "男", "female": "女", "in_post": "在本单位任职", True: "是", False: "否",
             "primary": "小学", "junior": "初中", "senior": "高中"}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in COLUMNS])
    for _ in range(rows):
        p = next(people)
        writer.writerow([words.get(p.get(c.field), p.get(c.field)) or "" for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


async def bulk_import(url: str, settings: Settings, database_url: str, schema: str,
                      school: str, people: People, rows: int) -> dict[str, Any]:
    content = import_file(people, rows)
    token = mint_token(settings, "school_admin", school_code=school)
    headers = {"Authorization": f"Bearer {token}"}
    result: dict[str, Any] = {"rows": rows, "file_bytes": len(content)}
    async with httpx.AsyncClient(base_url=url, timeout=900, trust_env=False) as http:
        for label in ("first", "again"):
            cpu0, t0 = cpu_by_group(), time.perf_counter()
            r = await http.post("/v1/imports", files={"file": ("teachers.csv", content)},
                                data={"school_code": school}, headers=headers)
            elapsed = time.perf_counter() - t0
            report = r.json()
            assert r.status_code == 200 and report["failed"] == 0, str(report)[:500]
            drained = await outbox_drained(database_url, schema)
            result[label] = {"seconds": round(elapsed, 2), "rows_per_s": round(rows / elapsed),
                             "registered": report["registered"],
                             "unchanged": report["unchanged"],
                             "outbox_drained_after_s": round(drained, 2),
                             "cpu_s": cpu_delta(cpu0, cpu_by_group())}
    return result


async def durability(database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
                                ["fsync", "synchronous_commit", "full_page_writes",
                                 "wal_sync_method", "max_wal_size"])
        return {r["name"]: r["setting"] for r in rows}
    finally:
        await conn.close()


async def bench(bootstrap: str, database_url: str, opts: argparse.Namespace,
                workdir: Path) -> dict[str, Any]:
    settings = Settings(kafka_bootstrap=bootstrap, database_url=database_url, env="test")
    load_at_start = round(os.getloadavg()[0], 2)
    record: dict[str, Any] = {
        "bench": "intake_submissions",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_1m_at_start": load_at_start},
        "durability": {"postgres": await durability(database_url),
                       "kafka": {"acks": "all", "idempotent_producer": True,
                                 "replication_factor": 1, "brokers": 1}},
        "command": "python bench/intake_submissions.py " + " ".join(sys.argv[1:]),
    }
    if "floor" in opts.only:
        print("floor ...", flush=True)
        record["floor"] = [await floor(database_url, c, opts.seconds) for c in (20, 100)]
    if "peer" in opts.only:
        print("peer ...", flush=True)
        record["peer"] = await asyncio.to_thread(peer_eventsourcing, database_url, 20,
                                                 opts.seconds)
    if "kafka" in opts.only:
        print("kafka ...", flush=True)
        record["kafka_producer"] = kafka_limit(bootstrap, 300_000)
    if not {"submissions", "import"} & set(opts.only):
        record["ratios"] = ratios(record)
        return record
    schema = f"intake_b{uuid4().hex[:8]}"
    proc, url = start_intake(bootstrap, database_url, schema, workdir / "intake.log",
                             opts.workers)
    ROOTS["intake_http"] = proc.pid
    port = database_url.rsplit(":", 1)[1].split("/")[0]
    for group, needle in (("postgres", f"-p {port} "), ("kafka", str(workdir / "stack"))):
        found = find_root(needle)
        if found is not None:
            ROOTS[group] = found
    people = People(seed=2017)
    try:
        service = {"Authorization": f"Bearer {mint_token(settings, 'service')}"}
        counties = sorted(divisions().counties)
        schools = [f"B{i:05d}{uuid4().hex[:4]}" for i in range(SCHOOLS + 1)]
        async with httpx.AsyncClient(base_url=url, timeout=60, trust_env=False) as http:
            for i, code in enumerate(schools):
                r = await http.post("/v1/schools", headers=service, json={
                    "code": code, "name": f"基准学校{i}", "stage": "primary",
                    "county_code": counties[i % len(counties)]})
                assert r.status_code == 201, r.text
        runs = []
        for clients in (10, 50, 200) if "submissions" in opts.only else ():  # 10: warm-up
            bodies = workdir / f"bodies-{clients}.txt"
            bodies_file(bodies, settings, schools[:SCHOOLS], people,
                        int(opts.per_s_ceiling * opts.seconds))
            before_events = await count_events(database_url, schema)
            cpu0 = cpu_by_group()
            print(f"intake at {clients} connections ...", flush=True)
            with profiled(opts.profile, proc.pid, f"submissions-{clients}"):
                run = wrk(url, clients, opts.seconds if clients != 10 else 3, bodies)
            run["cpu_s"] = cpu_delta(cpu0, cpu_by_group())
            run["events_appended"] = await count_events(database_url, schema) - before_events
            run["accepted_per_s"] = round(run["events_appended"] / run["wall_s"], 1)
            if clients != 10:
                runs.append(run)
        if runs:
            record["submissions"] = runs
            record["outbox_drained_after_submissions_s"] = round(
                await outbox_drained(database_url, schema), 2)
        if "import" in opts.only:
            print("import ...", flush=True)
            with profiled(opts.profile, proc.pid, "import"):
                record["bulk_import"] = await bulk_import(url, settings, database_url, schema,
                                                          schools[SCHOOLS], people, opts.rows)
    except BaseException:
        print((workdir / "intake.log").read_text(errors="replace")[-5000:], file=sys.stderr)
        raise
    finally:
        stop_intake(proc)
    record["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    record["setup"] = {
        "schools": SCHOOLS, "intake": f"python -m services.intake: supervisor, HTTP with "
                                      f"{opts.workers} uvicorn workers (uvloop, httptools), "
                                      "relay process; pool 20 per worker",
        "clients": "wrk -t 2, one request per distinct synthetic teacher; a school admin's "
                   "token per school"}
    record["ratios"] = ratios(record)
    return record


def ratios(r: dict[str, Any]) -> dict[str, Any]:
    if "floor" not in r:
        return {}
    floor20 = r["floor"][0]["per_s"]
    peer = r.get("peer", {}).get("per_s")
    out: dict[str, Any] = {}
    for run in r.get("submissions", []):
        c = run["connections"]
        out[f"submissions_{c}_vs_floor_20"] = round(run["accepted_per_s"] / floor20, 2)
        if peer:
            out[f"submissions_{c}_vs_eventsourcing_peer"] = round(run["accepted_per_s"] / peer, 2)
    imp = r.get("bulk_import", {}).get("first")
    if imp:
        out["import_rows_vs_floor_20"] = round(imp["rows_per_s"] / floor20, 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2, help="intake's TMIS_HTTP_WORKERS")
    parser.add_argument("--per-s-ceiling", type=float, default=4000.0,
                        help="distinct teachers generated per second of each run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        help="run only these parts (a partial record; for profiling)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy the intake HTTP workers during each part into this folder")
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/intake_submissions.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="tmis-intake-bench-"))
    workdir.chmod(0o755)
    bootstrap = os.environ.get("TMIS_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("TMIS_DATABASE_URL")
    own_stack = not (bootstrap and database_url)
    try:
        if own_stack:
            from deploy.local.stack import start_infra

            bootstrap, database_url = start_infra(workdir / "stack")
        assert bootstrap and database_url
        result = asyncio.run(bench(bootstrap, database_url, opts, workdir))
    finally:
        if own_stack:
            from deploy.local.stack import stop_infra

            stop_infra(workdir / "stack")
        shutil.rmtree(workdir, ignore_errors=True)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("floor", "peer")},
                     ensure_ascii=False, indent=2)[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
