"""Fixtures of the fault suite: a Kafka broker and a PostgreSQL server of its own, which the
tests kill, restart and cut off (so never someone's `tmis up`, never the integration suite's);
and for the cases that need one, a three-broker cluster (with a PostgreSQL of its own), started
when the first such case runs and stopped after the module.

The stack is the local, Docker-free one (deploy.local.stack.start_infra) in a temporary state
dir on free ports; `Infra` (infra.py) knows its processes. Stopped and deleted at the end of
the session, failed tests or not.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.infra import Infra


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: faults caused under a simulated province")


def _infra(brokers: int) -> Iterator[Infra]:
    from deploy.local.stack import start_infra, stop_infra

    state_dir = Path(tempfile.mkdtemp(prefix="tmis-faults-"))
    state_dir.chmod(0o755)  # as root the server runs as `postgres`, which must traverse it
    try:
        bootstrap, database_url = start_infra(state_dir, brokers=brokers)
        yield Infra(state_dir, bootstrap, database_url)
    finally:
        stop_infra(state_dir, delete=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    yield from _infra(1)


@pytest.fixture(scope="module")
def cluster_infra() -> Iterator[Infra]:
    yield from _infra(3)
