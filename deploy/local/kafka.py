"""A single-node Kafka (KRaft, broker + controller in one JVM) run from Maven Central jars.

The jars are resolved once with Maven from ``deploy/local/pom.xml`` into
``~/.cache/tmis/kafka-<version>/`` and shared by every state dir. Per state dir we keep
``kafka/server.properties``, ``kafka/log4j2.properties`` and ``kafka/data`` (the log dirs,
formatted once), and logs under ``logs/``.
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


@dataclass(frozen=True)
class KafkaPaths:
    """Where one state dir keeps its broker's config, data and logs."""

    state_dir: Path

    @property
    def config(self) -> Path:
        return self.state_dir / "kafka" / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.state_dir / "kafka" / "log4j2.properties"

    @property
    def data(self) -> Path:
        return self.state_dir / "kafka" / "data"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

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
    if properties:  # the secure mode's config holds the admin's password
        paths.config.chmod(0o600)
    shutil.copyfile(LOG4J_TEMPLATE, paths.log4j)


def _jvm(jars: Path, paths: KafkaPaths, main: str, *args: str, heap: str = HEAP) -> list[str]:
    return [
        java(), heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}", f"-Dkafka.logs.dir={paths.logs}",
        "-cp", f"{jars}/*", main, *args,
    ]  # fmt: skip


def format_storage(jars: Path, paths: KafkaPaths, extra_args: Sequence[str] = ()) -> None:
    """Format the log dirs once (a single-node, self-bootstrapping KRaft quorum);
    ``extra_args``: e.g. the secure mode's ``--add-scram`` credentials."""
    if (paths.data / "meta.properties").exists():
        return
    procs.run(
        _jvm(jars, paths, "kafka.tools.StorageTool", "format", "--standalone",
             "-t", new_cluster_id(), "-c", str(paths.config), *extra_args, heap="-Xmx256m"),
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
) -> int:
    """Write the config, format storage if new, start the broker detached; returns its pid."""
    write_config(paths, port, controller_port, properties)
    format_storage(jars, paths, format_args)
    return procs.spawn(
        _jvm(jars, paths, "kafka.Kafka", str(paths.config)),
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
    return run_coroutine(_describe_cluster(bootstrap, client or {}))


async def _describe_cluster(bootstrap: str, client: Mapping[str, Any]) -> bool:
    # aiokafka logs each refused connection at ERROR while we poll; here those are expected.
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **client)
    try:
        await asyncio.wait_for(admin.start(), timeout=5)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout=5)
    except Exception:
        return False
    finally:
        await admin.close()
        aiokafka_log.setLevel(level)
    return bool(cluster.get("brokers"))


def stop(paths: KafkaPaths, pid: int | None) -> None:
    """SIGTERM the broker (a controlled shutdown), SIGKILL it after 30 s."""
    procs.stop_pid(pid, paths.marker, grace=STOP_GRACE)
