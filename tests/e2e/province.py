"""A fresh province stack for one end-to-end run: the four real services as subprocesses
(`python -m services.<name>` on free ports, told where their peers answer) against the test
session's Kafka and PostgreSQL, on an empty slate.

Empty slate: a province's events must be the only ones the services see (they consume their
topics from the beginning), so every `tmis.*` topic is deleted and created again, and the
services get a database of their own. That is why the e2e suite refuses to run against a stack
named by TMIS_KAFKA_BOOTSTRAP (someone's own `tmis up`): it would delete its topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import client_security, ensure_topics
from simulator.adapters.endpoints import SERVICES, Endpoints

REPO = Path(__file__).resolve().parents[2]
READY_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def wipe_topics(bootstrap: str, timeout: float = 90.0) -> None:
    """Delete every tmis.* topic and create the registry's topics again, empty."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tmis-e2e",
                                **client_security())
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith("tmis.")]
        if ours:
            await admin.delete_topics(ours)
        deadline = time.monotonic() + timeout
        while ours and set(ours) & set(await admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not deleted within {timeout}s")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    deadline = time.monotonic() + timeout
    while True:  # a topic just deleted may refuse to be created for a moment
        try:
            await ensure_topics(bootstrap)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


@dataclass
class Province:
    endpoints: Endpoints
    database_url: str
    processes: list[ServiceProcess]


async def _wait_healthy(p: ServiceProcess) -> None:
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(trust_env=False, timeout=3) as client:
        while True:
            if p.process.poll() is not None:
                raise RuntimeError(f"service {p.name} exited ({p.process.returncode}):\n"
                                   f"{p.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{p.url}/healthz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"service {p.name} not healthy in {READY_SECONDS}s:\n"
                                   f"{p.tail()}")
            await asyncio.sleep(0.3)


def start_services(kafka_bootstrap: str, database_url: str, logs: Path
                   ) -> list[ServiceProcess]:
    """The four services on free ports, each told where the others answer."""
    ports = {name: free_port() for name in SERVICES}
    peers = {f"TMIS_{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    for name in SERVICES:
        env = {**os.environ, **peers, "TMIS_KAFKA_BOOTSTRAP": kafka_bootstrap,
               "TMIS_DATABASE_URL": database_url, "TMIS_HTTP_PORT": str(ports[name]),
               "TMIS_ENV": "test", "TMIS_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=REPO,
                                    env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        processes.append(ServiceProcess(name, ports[name], proc, log))
    return processes


@contextlib.asynccontextmanager
async def province_stack(kafka_bootstrap: str, database_url: str,
                         logs: Path) -> AsyncIterator[Province]:
    """Empty topics, a new database, the four services started; everything stopped and the
    database dropped afterwards."""
    await wipe_topics(kafka_bootstrap)
    db = f"tmis_e2e_{uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE DATABASE {db}")
    finally:
        await admin.close()
    url = with_database(database_url, db)
    processes: list[ServiceProcess] = []
    try:
        processes += start_services(kafka_bootstrap, url, logs)
        await asyncio.gather(*(_wait_healthy(p) for p in processes))
        yield Province(Endpoints({p.name: p.url for p in processes}, kafka_bootstrap), url,
                       processes)
    finally:
        for p in processes:
            p.stop()
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        finally:
            await admin.close()
