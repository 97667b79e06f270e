"""The ``stack_env`` fixture: a real Kafka broker and PostgreSQL server for the session.

Where they come from, first match wins:

1. ``TMIS_KAFKA_BOOTSTRAP`` and ``TMIS_DATABASE_URL`` are both set: use them as they are
   (e.g. ``export $(tmis status | grep ^TMIS_)`` to test against the running local stack).
2. A Docker engine answers ``docker info`` within 5 s: testcontainers start Kafka (KRaft,
   Kafka 4.x) and PostgreSQL 15.
3. Otherwise the local, Docker-free stack (``deploy.local.stack.start_infra``) in a fresh
   temporary state dir on its own free ports, so a running ``tmis up`` is never disturbed;
   it is stopped and deleted when the session ends, failed tests or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# confluentinc/cp-kafka 8.1 is Apache Kafka 4.1; testcontainers' KafkaContainer drives the
# Confluent image (its KRaft mode needs the image's configure scripts).
KAFKA_IMAGE = os.environ.get("TMIS_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:8.1.0")
POSTGRES_IMAGE = os.environ.get("TMIS_TEST_POSTGRES_IMAGE", "postgres:15")


@dataclass(frozen=True)
class StackEnv:
    """Where the session's Kafka and PostgreSQL answer."""

    kafka_bootstrap: str
    database_url: str
    source: str  # "env", "docker" or "local"


@pytest.fixture(scope="session")
def stack_env() -> Iterator[StackEnv]:
    bootstrap = os.environ.get("TMIS_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("TMIS_DATABASE_URL")
    if bootstrap and database_url:
        yield StackEnv(bootstrap, database_url, "env")
    elif docker_engine_answers():
        yield from _containers()
    else:
        yield from _local_stack()


def docker_engine_answers() -> bool:
    """True when a Docker engine runs (the ``docker`` binary alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _containers() -> Iterator[StackEnv]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    kafka = (
        KafkaContainer(KAFKA_IMAGE)
        .with_kraft()
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_NUM_PARTITIONS", "3")
    )
    postgres = PostgresContainer(
        POSTGRES_IMAGE, username="tmis", password="tmis", dbname="tmis", driver=None
    )
    with kafka, postgres:
        yield StackEnv(kafka.get_bootstrap_server(), postgres.get_connection_url(), "docker")


def _local_stack() -> Iterator[StackEnv]:
    from deploy.local.stack import start_infra, stop_infra

    state_dir = Path(tempfile.mkdtemp(prefix="tmis-test-"))
    # mkdtemp makes it 0700; as root the server runs as `postgres`, which must traverse it.
    state_dir.chmod(0o755)
    try:
        bootstrap, database_url = start_infra(state_dir)
        yield StackEnv(bootstrap, database_url, "local")
    finally:
        stop_infra(state_dir, delete=True)
        shutil.rmtree(state_dir, ignore_errors=True)
