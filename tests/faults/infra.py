"""The faults the suite causes, on the processes of its own local stack.

    kill_kafka / start_kafka        SIGKILL the broker's JVM; start it again on the same ports
                                    and data (KRaft storage is kept), wait until it answers
    kill_broker / start_broker      the same for broker n of a three-broker cluster; started
                                    again, it must rejoin (the cluster lists all three)
    restart_postgres_immediate      `pg_ctl restart -m immediate`: every backend killed without
                                    a checkpoint, crash recovery at start (what a power cut or
                                    an OOM kill of the postmaster does)
    stop_postgres / start_postgres  `pg_ctl stop -m fast`, and the same server started again
    terminate_backends              pg_terminate_backend of every connection to a database
    kill_service / restart_service  SIGKILL a service process group; start it on its port

The stack's state file is updated after each restart, so the session's stop finds the new pids.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.local import kafka, postgres, procs
from deploy.local.stack import CLUSTER_HEAP, kafka_nodes
from deploy.local.state import load, save
from tests.e2e.province import REPO, Province, ServiceProcess, _wait_healthy


@dataclass
class Infra:
    state_dir: Path
    kafka_bootstrap: str
    database_url: str

    # ------------------------------------------------------------------ Kafka

    def kill_kafka(self) -> None:
        state = load(self.state_dir)
        assert state.kafka is not None and state.kafka.pid
        os.kill(state.kafka.pid, signal.SIGKILL)
        procs.wait_dead(state.kafka.pid, 10)

    def start_kafka(self) -> None:
        state = load(self.state_dir)
        assert state.kafka is not None
        paths = kafka.KafkaPaths(self.state_dir)
        state.kafka.pid = kafka.start(kafka.ensure_kafka_jars(), paths, state.kafka.port,
                                      state.kafka.controller_port)
        save(self.state_dir, state)
        kafka.wait_ready(paths, state.kafka.pid, state.kafka.port)

    def kill_broker(self, node: int) -> None:
        state = load(self.state_dir)
        assert state.kafka is not None and state.kafka.brokers > 1
        record = state.kafka.nodes[node - 1]
        assert record.pid
        os.kill(record.pid, signal.SIGKILL)
        procs.wait_dead(record.pid, 10)

    def start_broker(self, node: int) -> None:
        state = load(self.state_dir)
        assert state.kafka is not None
        paths, record = kafka_nodes(self.state_dir, state.kafka)[node - 1]
        quorum = [n.controller_port for n in state.kafka.nodes]
        record.pid = kafka.start(
            kafka.ensure_kafka_jars(), paths, record.port, record.controller_port,
            properties=kafka.cluster_properties(paths, record.port, record.controller_port,
                                                quorum), heap=CLUSTER_HEAP)
        save(self.state_dir, state)
        kafka.wait_ready(paths, record.pid, record.port)
        kafka.wait_brokers(self.kafka_bootstrap, state.kafka.brokers)

    # ------------------------------------------------------------------ PostgreSQL

    def _pg_ctl(self, *args: str) -> None:
        state = load(self.state_dir)
        assert state.postgres is not None
        paths = postgres.PgPaths(Path(state.postgres.base_dir))
        # -l: the restarted postmaster must not inherit our pipes (run() would wait for EOF)
        cmd = [postgres.pg_bin("pg_ctl"), "-w", "-t", "60", "-D", str(paths.data),
               "-l", str(paths.log), *args]
        if postgres.as_root():
            cmd = ["runuser", "-u", postgres.SYSTEM_USER, "--", *cmd]
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=paths.base, timeout=90)

    def restart_postgres_immediate(self) -> None:
        self._pg_ctl("-m", "immediate", "restart")
        self._record_postgres_pid()

    def stop_postgres(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start_postgres(self) -> None:
        state = load(self.state_dir)
        assert state.postgres is not None
        postgres.start(postgres.PgPaths(Path(state.postgres.base_dir)), state.postgres.port)
        self._record_postgres_pid()

    def _record_postgres_pid(self) -> None:
        state = load(self.state_dir)
        assert state.postgres is not None
        state.postgres.pid = postgres.postmaster_pid(postgres.PgPaths(
            Path(state.postgres.base_dir)))
        save(self.state_dir, state)

    async def terminate_backends(self, database: str) -> int:
        conn = await asyncpg.connect(self.database_url)
        try:
            terminated: int = await conn.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()) t", database)
            return terminated
        finally:
            await conn.close()

    # ------------------------------------------------------------------ services

    def kill_service(self, province: Province, name: str) -> ServiceProcess:
        p = next(p for p in province.processes if p.name == name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.process.pid, signal.SIGKILL)
        p.process.wait(10)
        return p

    async def restart_service(self, province: Province, name: str,
                              wait_healthy: bool = True) -> ServiceProcess:
        """Start `name` again on its port with the environment the others got."""
        old = next(p for p in province.processes if p.name == name)
        peers = {f"TMIS_{p.name.upper()}_URL": p.url for p in province.processes}
        env = {**os.environ, **peers, "TMIS_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
               "TMIS_DATABASE_URL": province.database_url, "TMIS_HTTP_PORT": str(old.port),
               "TMIS_ENV": "test", "TMIS_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
        new = ServiceProcess(name, old.port, _spawn(name, env, old.log), old.log)
        province.processes[province.processes.index(old)] = new
        if wait_healthy:
            await _wait_healthy(new)
        return new


def _spawn(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
