"""A three-broker local cluster (`tmis up --brokers 3` without the services): it starts in a
state dir of its own, registers three brokers, creates the registry's topics with replication
factor 3 and min.insync.replicas 2, shows three brokers in `tmis status`, and stops so that
its ports are free again."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from deploy.local import kafka, procs, stack
from deploy.local.state import load
from shared.kafka import ensure_topics

pytestmark = pytest.mark.integration

TOPIC = "tmis.intake.teacher.v1"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    state_dir = Path(tempfile.mkdtemp(prefix="tmis-brokers-"))
    state_dir.chmod(0o755)  # as root the server runs as `postgres`, which must traverse it
    try:
        stack.start_infra(state_dir, brokers=3)
        yield state_dir
    finally:
        stack.stop_infra(state_dir, delete=True)
        shutil.rmtree(state_dir, ignore_errors=True)


async def replication_of(bootstrap: str, topic: str) -> tuple[set[int], str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(60):  # a new topic reaches every broker's metadata a moment later
            partitions = (await admin.describe_topics([topic]))[0]["partitions"]
            if partitions:
                break
            await asyncio.sleep(0.25)
        replicas = {len(p["replicas"]) for p in partitions}
        answer = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})])
        entries = {e[0]: e[1] for e in answer[0].resources[0][4]}
        return replicas, entries["min.insync.replicas"]
    finally:
        await admin.close()


def test_three_brokers_register_as_one_cluster(cluster: Path) -> None:
    record = load(cluster).kafka
    assert record is not None and record.brokers == 3
    assert kafka.broker_count(record.bootstrap) == 3
    assert len(record.bootstrap.split(",")) == 3


def test_topics_are_created_with_three_replicas_and_two_in_sync(cluster: Path) -> None:
    record = load(cluster).kafka
    assert record is not None
    asyncio.run(ensure_topics(record.bootstrap, [TOPIC]))
    replicas, min_insync = asyncio.run(replication_of(record.bootstrap, TOPIC))
    assert replicas == {3}
    assert min_insync == "2"


def test_status_shows_each_broker_and_the_bootstrap_names_all_three(
        cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = load(cluster).kafka
    assert record is not None
    stack.status(cluster)  # unhealthy as a whole: start_infra starts no service
    out = capsys.readouterr().out
    for n in (1, 2, 3):
        assert f"kafka-{n}    healthy" in out
        assert f"(broker {n} of 3, 3 registered)" in out
    assert f"TMIS_KAFKA_BOOTSTRAP={record.bootstrap}\n" in out


def test_down_stops_every_broker_and_frees_their_ports(cluster: Path) -> None:
    record = load(cluster).kafka
    assert record is not None
    stack.down(cluster)
    assert not any(procs.pid_alive(n.pid) for n in record.nodes)
    ports = [p for n in record.nodes for p in (n.port, n.controller_port)]
    assert all(procs.port_is_free(p) for p in ports)
    stack.start_infra(cluster, brokers=3)  # the second start reuses the ports and the data
    again = load(cluster).kafka
    assert again is not None and again.bootstrap == record.bootstrap
    assert kafka.broker_count(again.bootstrap) == 3
