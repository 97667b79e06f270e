"""A single-node Kafka (KRaft, broker + controller in one JVM) run from Maven Central jars.

The jars are resolved once with Maven from ``deploy/local/pom.xml`` into
``~/.cache/tmis/kafka-<version>/`` and shared by every state dir. Per state dir we keep
``kafka/server.properties``, ``kafka/log4j2.properties`` and ``kafka/data`` (the log dirs,
formatted once), and logs under ``logs/``.

A cluster (``tmis up --brokers 3``): N JVMs, each broker and controller (KRaft combined mode,
a static quorum of all N controllers), on ports of their own; node ``n`` keeps the same files
under ``kafka/broker-<n>/`` and its logs under ``logs/kafka-<n>/``. Topics get replication
factor 3 and min.insync.replicas 2 (``default.replication.factor``, read by
shared/kafka.py's ``ensure_topics``), so one broker may die without losing an acknowledged
write (acks=all) and without stopping producers beyond the leader election.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from deploy.local import procs
from deploy.local.asyncio_bridge import run_coroutine
from deploy.local.errors import StackError

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J_TEMPLATE = HERE / "log4j2.properties"
HEAP = "-Xmx768m"
READY_TIMEOUT = 60.0
STOP_GRACE = 30.0
MARKER = "kafka.Kafka"

SERVER_PROPERTIES = """\
# Written by deploy/local/kafka.py on every start; edit that file, not this one.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
log.dirs={data}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
num.partitions=3
group.initial.rebalance.delay.ms=0
"""

CLUSTER_REPLICATION = 3  # replication factor of every topic of a cluster (3 brokers or more)
CLUSTER_MIN_ISR = 2  # acks=all succeeds with one replica down, never with two

CLUSTER_SERVER_PROPERTIES = """\
# Written by deploy/local/kafka.py on every start; edit that file, not this one.
# Node {node} of a {count}-broker local cluster (KRaft, each node broker and controller).
process.roles=broker,controller
node.id={node}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.voters={voters}
log.dirs={data}
default.replication.factor={replication}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={replication}
transaction.state.log.replication.factor={replication}
transaction.state.log.min.isr={min_isr}
num.partitions=3
group.initial.rebalance.delay.ms=0
# A broker killed -9 is fenced (its partitions get new leaders) after 6 s, not the default 9.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
"""


@dataclass(frozen=True)
class KafkaPaths:
    """Where one state dir keeps its broker's config, data and logs; ``node`` 0 is the single
    broker (``kafka/``, ``logs/``), ``node`` n >= 1 a cluster's broker n (``kafka/broker-<n>/``,
    ``logs/kafka-<n>/``)."""

    state_dir: Path
    node: int = 0

    @property
    def home(self) -> Path:
        base = self.state_dir / "kafka"
        return base / f"broker-{self.node}" if self.node else base

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.home / "log4j2.properties"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        base = self.state_dir / "logs"
        return base / f"kafka-{self.node}" if self.node else base

    @property
    def formatted(self) -> bool:
        return (self.data / "meta.properties").exists()

    @property
    def stdout_log(self) -> Path:
        return self.logs / "kafka.out"

    @property
    def server_log(self) -> Path:
        return self.logs / "kafka-server.log"

    @property
    def marker(self) -> str:
        """What the broker's command line contains: tells our JVM from any other."""
        return f"{MARKER} {self.config}"


def kafka_version(pom: Path = POM) -> str:
    """The ``kafka.version`` property of the pom."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not (node.text or "").strip():
        raise StackError(f"{pom} has no <kafka.version> property")
    return (node.text or "").strip()


def jars_dir() -> Path:
    """The cache dir for this Kafka version's jars (honours XDG_CACHE_HOME)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "tmis" / f"kafka-{kafka_version()}"


def java() -> str:
    """The java executable, or a StackError naming the package to install."""
    found = shutil.which("java")
    if found is None:
        raise StackError(
            "java not found: install a Java 17+ runtime "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
        )
    return found


def ensure_kafka_jars() -> Path:
    """The directory of the broker's jars, fetched with Maven the first time."""
    target = jars_dir()
    complete = target / ".complete"
    if complete.exists():
        return target
    java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "mvn not found: Maven fetches the Kafka jars once "
            "(Debian/Ubuntu: apt-get install maven)"
        )
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    procs.run(
        [
            mvn,
            "-q",
            "-B",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
            "-f",
            str(POM),
        ],
        what="fetching the Kafka jars with mvn",
        timeout=600,
    )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    complete.touch()
    return target


def new_cluster_id() -> str:
    """A cluster id as Kafka's ``Uuid.randomUuid()`` makes it (base64url, never a leading '-')."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def node_paths(state_dir: Path, brokers: int) -> list[KafkaPaths]:
    """The paths of each broker: the single broker's layout, or cluster nodes 1..brokers."""
    if brokers == 1:
        return [KafkaPaths(state_dir)]
    return [KafkaPaths(state_dir, n) for n in range(1, brokers + 1)]


def cluster_properties(
    paths: KafkaPaths, port: int, controller_port: int, controller_ports: Sequence[int]
) -> str:
    """server.properties of cluster node ``paths.node`` (1-based) on ``port``/``controller_port``;
    ``controller_ports``: every node's controller port, node 1's first (the static quorum)."""
    if not 1 <= paths.node <= len(controller_ports):
        raise StackError(f"node {paths.node} is not one of {len(controller_ports)} brokers")
    voters = ",".join(f"{n}@127.0.0.1:{p}" for n, p in enumerate(controller_ports, start=1))
    count = len(controller_ports)
    replication = min(CLUSTER_REPLICATION, count)
    return CLUSTER_SERVER_PROPERTIES.format(
        node=paths.node, count=count, port=port, controller_port=controller_port,
        voters=voters, data=paths.data, replication=replication,
        min_isr=min(CLUSTER_MIN_ISR, replication),
    )


def write_config(
    paths: KafkaPaths, port: int, controller_port: int, properties: str | None = None
) -> None:
    """Write server.properties and log4j2.properties for these ports (``properties``: the
    secure mode's own server.properties, see kafka_security.py)."""
    paths.config.parent.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(
        properties
        or SERVER_PROPERTIES.format(port=port, controller_port=controller_port, data=paths.data)
    )
    if properties and "jaas.config" in properties:  # the secure mode's holds passwords
        paths.config.chmod(0o600)
    shutil.copyfile(LOG4J_TEMPLATE, paths.log4j)


def _jvm(jars: Path, paths: KafkaPaths, main: str, *args: str, heap: str = HEAP) -> list[str]:
    return [
        java(), heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}", f"-Dkafka.logs.dir={paths.logs}",
        "-cp", f"{jars}/*", main, *args,
    ]  # fmt: skip


def format_storage(
    jars: Path, paths: KafkaPaths, extra_args: Sequence[str] = (), cluster_id: str | None = None
) -> None:
    """Format the log dirs once: a single-node, self-bootstrapping KRaft quorum, or with
    ``cluster_id`` one node of a cluster whose static quorum its config names (every node is
    formatted with the same id); ``extra_args``: e.g. the secure mode's ``--add-scram``."""
    if paths.formatted:
        return
    quorum = ["-t", cluster_id] if cluster_id else ["--standalone", "-t", new_cluster_id()]
    procs.run(
        _jvm(jars, paths, "kafka.tools.StorageTool", "format", *quorum,
             "-c", str(paths.config), *extra_args, heap="-Xmx256m"),
        what="formatting Kafka storage",
    )  # fmt: skip


def start(
    jars: Path,
    paths: KafkaPaths,
    port: int,
    controller_port: int,
    *,
    properties: str | None = None,
    format_args: Sequence[str] = (),
    cluster_id: str | None = None,
    heap: str = HEAP,
) -> int:
    """Write the config, format storage if new, start the broker detached; returns its pid.
    A cluster's node: ``properties`` from ``cluster_properties`` and the cluster's id."""
    write_config(paths, port, controller_port, properties)
    format_storage(jars, paths, format_args, cluster_id)
    return procs.spawn(
        _jvm(jars, paths, "kafka.Kafka", str(paths.config), heap=heap),
        log=paths.stdout_log,
        cwd=paths.state_dir,
    )


def wait_ready(
    paths: KafkaPaths,
    pid: int,
    port: int,
    timeout: float = READY_TIMEOUT,
    client: Mapping[str, Any] | None = None,
) -> None:
    """Block until the broker answers a metadata request, or fail with its log tails.
    ``client``: aiokafka security settings (the secure mode's admin)."""
    procs.wait_until(
        lambda: procs.port_accepts(port) and is_ready(f"127.0.0.1:{port}", client),
        what=f"Kafka on 127.0.0.1:{port}",
        timeout=timeout,
        logs=[paths.stdout_log, paths.server_log],
        alive=lambda: procs.pid_alive(pid),
        interval=0.5,
    )


def is_ready(bootstrap: str, client: Mapping[str, Any] | None = None) -> bool:
    """True when the cluster at ``bootstrap`` lists at least one registered broker."""
    return broker_count(bootstrap, client) >= 1


def broker_count(bootstrap: str, client: Mapping[str, Any] | None = None) -> int:
    """How many brokers the cluster at ``bootstrap`` lists as registered (0: no answer)."""
    return run_coroutine(_describe_cluster(bootstrap, client or {}))


def wait_brokers(bootstrap: str, count: int, timeout: float = READY_TIMEOUT) -> None:
    """Block until the cluster lists ``count`` brokers (a topic with replication factor 3 can
    be created only then)."""
    procs.wait_until(
        lambda: broker_count(bootstrap) >= count,
        what=f"{count} Kafka brokers registered at {bootstrap}",
        timeout=timeout,
        interval=0.5,
    )


async def _describe_cluster(bootstrap: str, client: Mapping[str, Any]) -> int:
    # aiokafka logs each refused connection at ERROR while we poll; here those are expected.
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **client)
    try:
        await asyncio.wait_for(admin.start(), timeout=5)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout=5)
    except Exception:
        return 0
    finally:
        await admin.close()
        aiokafka_log.setLevel(level)
    return len(cluster.get("brokers") or [])


def stop(paths: KafkaPaths, pid: int | None) -> None:
    """SIGTERM the broker (a controlled shutdown), SIGKILL it after 30 s."""
    procs.stop_pid(pid, paths.marker, grace=STOP_GRACE)
