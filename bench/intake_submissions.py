"""Bench: intake's sustained submissions at 50 and 200 concurrent clients, and bulk import.

    .venv/bin/python bench/intake_submissions.py [--seconds 20] [--rows 50000]

Uses the stack of TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL when both are set, else starts a
throwaway local Kafka + PostgreSQL (deploy.local.stack.start_infra) and removes it afterwards.
Intake runs as its own process (what `python -m services.intake` runs: uvicorn, one worker;
keep-alive raised to 120 s) on a free port under a fresh schema; the clients are httpx in this
process, each client a school administrator with its own connection, posting distinct made-up
teachers (synthetic ID numbers) over real HTTP.

Measured: for each concurrency, accepted submissions per second over --seconds and the p50 /
p99 / max latency; the 50,000-row CSV import of one school (rows/s), the same file again
(all rows 'unchanged', rows/s), and how long until the outbox had published every event to
Kafka. Results go to bench/results/intake.json. Not a timed test: numbers depend on the machine.
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
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.intake.domain.importing import COLUMNS  # noqa: E402
from shared.auth import mint_token  # noqa: E402
from shared.contracts.vocabulary import Gender  # noqa: E402
from shared.domain.divisions import divisions  # noqa: E402
from shared.domain.idnumber import synthetic_id_number  # noqa: E402
from shared.settings import Settings  # noqa: E402

RESULTS = REPO / "bench" / "results" / "intake.json"
SCHOOLS = 100
# `python -m services.intake`, but with a keep-alive longer than uvicorn's 5 s: a client
# starved of CPU for a moment must not find its connection closed under it.
SERVE = """
import os, uvicorn
from services.intake.bootstrap import SPEC
from shared.runtime import build_app
uvicorn.run(build_app(SPEC), host="127.0.0.1", port=int(os.environ["TMIS_HTTP_PORT"]),
            log_level="warning", access_log=False, timeout_keep_alive=120)
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


def start_intake(bootstrap: str, database_url: str, schema: str, log: Path) -> tuple[Any, str]:
    port = free_port()
    env = {**os.environ, "TMIS_KAFKA_BOOTSTRAP": bootstrap, "TMIS_DATABASE_URL": database_url,
           "TMIS_HTTP_PORT": str(port), "TMIS_ENV": "test", "TMIS_LOG_LEVEL": "WARNING",
           "TMIS_DB_POOL_SIZE": "20", "TMIS_INTAKE_SCHEMA_NAME": schema}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
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
    proc.terminate()
    raise RuntimeError(f"intake did not start; see {log}")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by `pid`, or by this process."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def submissions(url: str, settings: Settings, schools: list[str], people: People,
                      clients: int, seconds: float, server_pid: int) -> dict[str, Any]:
    tokens = {s: mint_token(settings, "school_admin", school_code=s) for s in schools}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    # Clients are made before the clock starts (and share one TLS context, which httpx would
    # otherwise build per client, loading the CA bundle each time): setup is not measured.
    tls = ssl.create_default_context()
    https = [httpx.AsyncClient(base_url=url, timeout=120, trust_env=False, verify=tls,
                               limits=httpx.Limits(max_connections=1)) for _ in range(clients)]
    stop_at = time.perf_counter() + seconds

    async def client(i: int) -> None:
        """One school administrator: one connection, one request after another."""
        school = schools[i % len(schools)]
        headers = {"Authorization": f"Bearer {tokens[school]}"}
        http = https[i]
        while time.perf_counter() < stop_at:
            body = {"school_code": school, "record": next(people)}
            t0 = time.perf_counter()
            try:
                r = await http.post("/v1/teachers", json=body, headers=headers)
            except httpx.TransportError as exc:
                errors[type(exc).__name__] += 1
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[r.status_code] += 1

    started = time.perf_counter()
    cpu = (cpu_seconds(server_pid), cpu_seconds())
    try:
        await asyncio.gather(*(client(i) for i in range(clients)))
    finally:
        elapsed = time.perf_counter() - started
        for http in https:
            await http.aclose()
    server_cpu, client_cpu = cpu_seconds(server_pid) - cpu[0], cpu_seconds() - cpu[1]
    accepted = statuses[201]
    return {"clients": clients, "seconds": round(elapsed, 2), "requests": len(latencies),
            "accepted": accepted, "statuses": dict(statuses), "transport_errors": dict(errors),
            "submissions_per_s": round(accepted / elapsed, 1),
            "intake_cpu_s": round(server_cpu, 2), "client_cpu_s": round(client_cpu, 2),
            "intake_cpu_ms_per_submission": round(server_cpu * 1000 / max(accepted, 1), 2),
            "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 1),
                           "p99": round(percentile(latencies, 0.99) * 1000, 1),
                           "max": round(max(latencies) * 1000, 1)}}


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


async def outbox_drained(database_url: str, schema: str) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            if not await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox"):
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def bulk_import(url: str, settings: Settings, database_url: str, schema: str,
                      school: str, people: People, rows: int, server_pid: int
                      ) -> dict[str, Any]:
    content = import_file(people, rows)
    token = mint_token(settings, "school_admin", school_code=school)
    headers = {"Authorization": f"Bearer {token}"}
    result: dict[str, Any] = {"rows": rows, "file_bytes": len(content)}
    async with httpx.AsyncClient(base_url=url, timeout=900, trust_env=False) as http:
        for label in ("first", "again"):
            t0, cpu0 = time.perf_counter(), cpu_seconds(server_pid)
            r = await http.post("/v1/imports", files={"file": ("teachers.csv", content)},
                                data={"school_code": school}, headers=headers)
            elapsed, server_cpu = time.perf_counter() - t0, cpu_seconds(server_pid) - cpu0
            report = r.json()
            assert r.status_code == 200 and report["failed"] == 0, str(report)[:500]
            drained = await outbox_drained(database_url, schema)
            result[label] = {"seconds": round(elapsed, 2), "rows_per_s": round(rows / elapsed),
                             "intake_cpu_s": round(server_cpu, 2),
                             "registered": report["registered"],
                             "unchanged": report["unchanged"],
                             "outbox_drained_after_s": round(drained, 2)}
    return result


async def bench(bootstrap: str, database_url: str, opts: argparse.Namespace,
                workdir: Path) -> dict[str, Any]:
    settings = Settings(kafka_bootstrap=bootstrap, database_url=database_url, env="test")
    schema = f"intake_b{uuid4().hex[:8]}"
    proc, url = start_intake(bootstrap, database_url, schema, workdir / "intake.log")
    people = People(seed=2017)
    load_at_start = round(os.getloadavg()[0], 2)
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
        await submissions(url, settings, schools[:SCHOOLS], people, 10, 2.0, proc.pid)  # warm-up
        runs = [await submissions(url, settings, schools[:SCHOOLS], people, c, opts.seconds,
                                  proc.pid) for c in (50, 200)]
        drained = await outbox_drained(database_url, schema)
        imported = await bulk_import(url, settings, database_url, schema, schools[SCHOOLS],
                                     people, opts.rows, proc.pid)
    except BaseException:
        print((workdir / "intake.log").read_text(errors="replace")[-5000:], file=sys.stderr)
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "bench": "intake_submissions",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_1m_at_end": round(os.getloadavg()[0], 2)},
        "setup": {"schools": SCHOOLS, "intake": "one uvicorn process, pool 20",
                  "clients": "httpx in the bench process: one AsyncClient (one connection) "
                             "per client, one school-admin token per school",
                  "load_average_1m_at_start": load_at_start},
        "submissions": runs,
        "outbox_drained_after_submissions_s": round(drained, 2),
        "bulk_import": imported,
        "notes": ["clients and server share the machine's CPUs (and other engineers' jobs: see "
                  "the load averages); intake_cpu_ms_per_submission is the server's own cost",
                  "intake's process also runs the outbox relay (internal + public topics)",
                  "every accepted submission is one TeacherRegistered appended with its outbox "
                  "row, identity row and write-side row in one transaction"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rows", type=int, default=50_000)
    opts = parser.parse_args()
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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
