"""The local, Docker-free TMIS stack: ``tmis up``, ``tmis down``, ``tmis status``.

Kafka (KRaft, from Maven Central jars) and PostgreSQL (the system's initdb/pg_ctl) run as
detached processes on free ports of 127.0.0.1, then each service that exists yet. Everything
lives in one state dir (``<repo>/.tmis`` or ``$TMIS_HOME``)::

    stack.json            pids, ports, urls, start timings   (deploy/local/state.py)
    kafka/                server.properties, log4j2.properties, data/   (kafka.py)
    pg/                   data/, sock/, log   (or /tmp/tmis-pg-<hash>, see postgres.py)
    logs/                 kafka.out, kafka-server.log, <service>.log

Three brokers (``tmis up --brokers 3``, ``start_infra(..., brokers=3)``): a KRaft cluster on this
machine, replication factor 3 and min.insync.replicas 2 (kafka.py); TMIS_KAFKA_BOOTSTRAP names
all three. A state dir keeps the broker count it was formatted with (``--fresh`` starts over),
and the cluster runs without SASL (the secure mode is single-broker so far).

``start_infra``/``stop_infra`` start and stop only Kafka and PostgreSQL in a state dir of the
caller's choosing: the integration tests' session fixture uses them with a temporary dir, so a
test run never touches the developer's running stack.

Secure mode, the default of ``tmis up`` (``--insecure`` or ``TMIS_KAFKA_SECURITY=plaintext`` opts
out; ``start_infra`` for tests and benches defaults to plaintext): Kafka with SASL/SCRAM and ACLs,
one principal per service (``kafka_security.py``). ``tmis`` commands connect as the admin
(tmis_cli/main.py reads the state dir's credentials).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.local import db_roles, kafka, kafka_security, postgres, procs, services
from deploy.local.errors import StackError
from deploy.local.kafka import ensure_kafka_jars
from deploy.local.services import PROCESSES, SERVICES
from deploy.local.state import (
    KafkaNode,
    KafkaRecord,
    PostgresRecord,
    ServiceRecord,
    StackState,
    load,
    save,
)

__all__ = [
    "SERVICES",
    "StackError",
    "default_state_dir",
    "down",
    "ensure_kafka_jars",
    "start_infra",
    "status",
    "stop_infra",
    "up",
    "wipe",
]

REPO = Path(__file__).resolve().parents[2]
CLUSTER_HEAP = "-Xmx512m"  # per broker of a cluster (three JVMs on one machine)


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$TMIS_HOME`` when set (in ``environ``, default the process's), else ``<repo>/.tmis``."""
    home = (os.environ if environ is None else environ).get("TMIS_HOME")
    return Path(home).expanduser().resolve() if home else REPO / ".tmis"


def _say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    timings[name] = round(time.monotonic() - started, 2)


# --- up ---------------------------------------------------------------------------------


def up(
    fresh: bool = False,
    state_dir: Path | None = None,
    *,
    with_services: bool = True,
    secure: bool | None = None,
    brokers: int | None = None,
) -> StackState:
    """Start Kafka, PostgreSQL and the existing services; a no-op when all are healthy.

    ``fresh`` stops everything and deletes the data and logs first; ``with_services=False``
    starts Kafka and PostgreSQL only (to run services from an IDE); ``secure`` (default: see
    ``kafka_security.requested``) runs Kafka with SASL/SCRAM and ACLs; ``brokers`` (default:
    what the state dir has, else 1) runs that many brokers as one cluster. If a start fails, what
    was started is stopped again (the logs stay) and the StackError says what failed.
    """
    state_dir = state_dir or default_state_dir()
    if fresh:
        down(state_dir)
        wipe(state_dir)
    brokers = broker_count_for(state_dir, brokers)
    if brokers > 1:
        if secure:
            raise StackError("several brokers run without SASL so far: "
                             f"`tmis up --brokers {brokers} --insecure`")
        secure = False
    secure = kafka_security.requested(secure, state_dir)
    if secure:
        kafka_security.check_can_secure(state_dir)
    if not fresh:
        current = load(state_dir)
        if (current.with_services == with_services and _brokers(current) == brokers
                and _healthy(state_dir, current)):
            _say(f"stack already running ({state_dir})")
            _print_env(current, state_dir=state_dir)
            return current
        if any(procs.pid_alive(pid) for pid in current.pids()):
            _say("stack partly running: restarting it")
            down(state_dir)
    state = load(state_dir)
    state.timings = {}
    state.with_services = with_services
    jars = _jars(state)
    try:
        _start_infra(state_dir, state, jars, secure=secure, brokers=brokers)
        if with_services:
            _start_services(state_dir, state)
        else:
            _say("services: not started (infra only)")
    except BaseException:
        _say(f"start failed: stopping what was started (logs: {state_dir / 'logs'})")
        down(state_dir)
        raise
    _print_timings(state)
    _print_env(state, state_dir=state_dir)
    return state


def start_infra(state_dir: Path, *, secure: bool = False, brokers: int = 1) -> tuple[str, str]:
    """Start Kafka and PostgreSQL only; returns ``(kafka_bootstrap, database_url)``.

    ``secure``: Kafka with SASL/SCRAM and ACLs; the admin and service credentials are in
    ``kafka_security.load_secrets(state_dir)``. ``brokers``: a cluster of that many brokers
    (plaintext only); the bootstrap names them all.
    """
    if brokers > 1 and secure:
        raise StackError("several brokers run without SASL so far")
    broker_count_for(state_dir, brokers)
    state = load(state_dir)
    state.timings = {}
    jars = _jars(state)
    try:
        _start_infra(state_dir, state, jars, secure=secure, brokers=brokers)
    except BaseException:
        stop_infra(state_dir)
        raise
    assert state.kafka is not None and state.postgres is not None
    _print_timings(state)
    return state.kafka.bootstrap, state.postgres.url


def _print_timings(state: StackState) -> None:
    _say("started in: " + ", ".join(f"{k} {v:.1f} s" for k, v in state.timings.items()))


def _jars(state: StackState) -> Path:
    if (kafka.jars_dir() / ".complete").exists():
        return ensure_kafka_jars()
    _say("fetching the Kafka jars with Maven (once)...")
    with _timed(state.timings, "kafka jars"):
        return ensure_kafka_jars()


def broker_count_for(state_dir: Path, brokers: int | None) -> int:
    """The broker count to start: ``brokers`` when given, else the state dir's, else 1; a
    StackError when the state dir's Kafka was formatted for another count."""
    recorded = load(state_dir).kafka
    wanted = brokers if brokers is not None else recorded.brokers if recorded else 1
    if wanted < 1:
        raise StackError(f"--brokers {wanted}: at least one broker")
    have: int | None = None  # what the data dirs were formatted for
    if kafka.KafkaPaths(state_dir).formatted:
        have = 1
    elif kafka.KafkaPaths(state_dir, 1).formatted:  # a cluster's: node 1 is always there
        have = recorded.brokers if recorded and recorded.brokers > 1 else 0
    if have is not None and have != wanted and not (have == 0 and wanted > 1):
        raise StackError(f"Kafka in {state_dir} was formatted with {have or 'several'} broker(s); "
                         f"`tmis up --fresh --brokers {wanted}` starts over with {wanted}")
    return wanted


def _brokers(state: StackState) -> int:
    return state.kafka.brokers if state.kafka else 1


def kafka_nodes(state_dir: Path, record: KafkaRecord) -> list[tuple[kafka.KafkaPaths, KafkaNode]]:
    """Each broker of the record with its paths (a single broker: node 0's layout)."""
    return list(zip(kafka.node_paths(state_dir, record.brokers), record.nodes, strict=True))


def _start_infra(
    state_dir: Path, state: StackState, jars: Path, *, secure: bool = False, brokers: int = 1
) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = _PortPicker()
    kafka_started = time.monotonic()
    state.kafka = _start_kafka(state_dir, state, jars, ports, secure=secure, brokers=brokers)
    with _timed(state.timings, "postgres"):  # while the JVM boots
        state.postgres = _start_postgres(state_dir, state, ports)
    for paths, node in kafka_nodes(state_dir, state.kafka):
        kafka.wait_ready(
            paths, node.pid or 0, node.port, client=kafka_security.admin_client_kwargs(state_dir)
        )
    if brokers > 1:
        kafka.wait_brokers(state.kafka.bootstrap, brokers)
    state.timings["kafka"] = round(time.monotonic() - kafka_started, 2)
    if secure:
        with _timed(state.timings, "kafka users and ACLs"):
            kafka_security.provision(jars, state_dir, state.kafka.bootstrap, SERVICES)
    save(state_dir, state)


def _start_kafka(
    state_dir: Path,
    state: StackState,
    jars: Path,
    ports: _PortPicker,
    *,
    secure: bool = False,
    brokers: int = 1,
) -> KafkaRecord:
    old = state.kafka.nodes if state.kafka else []
    nodes = [
        KafkaNode(
            port=ports.pick(old[i].port if i < len(old) else None),
            controller_port=ports.pick(old[i].controller_port if i < len(old) else None),
        )
        for i in range(brokers)
    ]
    record = KafkaRecord(nodes[0].port, nodes[0].controller_port, more=nodes[1:])
    if brokers > 1:
        return _start_cluster(state_dir, state, jars, record)
    paths = kafka.KafkaPaths(state_dir)
    properties: str | None = None
    format_args: list[str] = []
    if secure:
        found = kafka_security.ensure_secrets(state_dir, SERVICES)
        properties = kafka_security.server_properties(
            found, record.port, record.controller_port, paths.data
        )
        format_args = kafka_security.format_args(found)
    _say(f"kafka: starting on {record.bootstrap}" + (" (SASL/SCRAM, ACLs)" if secure else ""))
    record.pid = kafka.start(
        jars,
        paths,
        record.port,
        record.controller_port,
        properties=properties,
        format_args=format_args,
    )
    state.kafka = record
    save(state_dir, state)  # from here on `down` can stop it
    return record


def _start_cluster(
    state_dir: Path, state: StackState, jars: Path, record: KafkaRecord
) -> KafkaRecord:
    _say(f"kafka: starting {record.brokers} brokers on {record.bootstrap} "
         f"(replication {min(kafka.CLUSTER_REPLICATION, record.brokers)}, "
         f"min.insync.replicas {min(kafka.CLUSTER_MIN_ISR, record.brokers)})")
    cluster_id = kafka.new_cluster_id()  # used only by nodes not formatted yet
    quorum = [n.controller_port for n in record.nodes]
    state.kafka = record
    for paths, node in kafka_nodes(state_dir, record):
        properties = kafka.cluster_properties(paths, node.port, node.controller_port, quorum)
        node.pid = kafka.start(jars, paths, node.port, node.controller_port,
                               properties=properties, cluster_id=cluster_id, heap=CLUSTER_HEAP)
        save(state_dir, state)  # from here on `down` can stop it
    return record


def _start_postgres(state_dir: Path, state: StackState, ports: _PortPicker) -> PostgresRecord:
    old = state.postgres
    paths = postgres.pg_paths(state_dir)
    record = PostgresRecord(port=ports.pick(old.port if old else None), base_dir=str(paths.base))
    _say(f"postgres: starting on 127.0.0.1:{record.port} ({paths.base})")
    state.postgres = record
    save(state_dir, state)
    record.durable = postgres.durability_requested()
    if not record.durable:
        _say(f"postgres: {postgres.DURABILITY_ENV}=off: fsync, synchronous_commit and "
             "full_page_writes OFF (a crash can lose acknowledged writes)")
    postgres.init_cluster(paths)
    record.pid = postgres.start(paths, record.port, durable=record.durable)
    save(state_dir, state)
    postgres.ensure_database(record.port)
    db_roles.ensure_service_roles(record.port)  # one role per service, its own schema only
    return record


def _start_services(state_dir: Path, state: StackState) -> None:
    names = services.available(REPO)
    if not names:
        _say("services: none written yet (services/<name>/__main__.py), skipping")
        return
    assert state.kafka is not None and state.postgres is not None
    ports = _PortPicker()
    started: dict[str, float] = {}
    records: dict[str, ServiceRecord] = {}
    for name in names:  # ports first, so every service can be told where its peers answer
        old = state.services.get(name)
        records[name] = ServiceRecord(port=ports.pick(old.port if old else None))
    peers = {f"TMIS_{n.upper()}_URL": r.url for n, r in records.items()}
    for name in names:
        record = records[name]
        _say(f"{name}: starting on {record.url}")
        # its own Kafka principal (secure mode), and its peers' URLs (e.g. intake's documents)
        with _environ({**peers, **kafka_security.service_env(state_dir, name)}):
            record.pid = services.start(
                name,
                repo=REPO,
                state_dir=state_dir,
                port=record.port,
                kafka=state.kafka.bootstrap,
                database_url=(db_roles.service_url(state.postgres.port, name)
                              if name in db_roles.SCHEMAS else state.postgres.url),
            )
        state.services[name] = record
        started[name] = time.monotonic()
        save(state_dir, state)
    for name in names:
        record = state.services[name]
        services.wait_healthy(name, state_dir, record.pid or 0, record.port)
        state.timings[name] = round(time.monotonic() - started[name], 2)
    save(state_dir, state)


@contextmanager
def _environ(overrides: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for a child started inside the block, then restore them
    (services.start passes this process's environment on)."""
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _PortPicker:
    """Hands out distinct free ports, preferring the one a component had last time."""

    def __init__(self) -> None:
        self._taken: set[int] = set()

    def pick(self, previous: int | None) -> int:
        if previous and previous not in self._taken and procs.port_is_free(previous):
            port = previous
        else:
            port = procs.free_port()
            while port in self._taken:
                port = procs.free_port()
        self._taken.add(port)
        return port


# --- down -------------------------------------------------------------------------------


def down(state_dir: Path | None = None) -> None:
    """Stop the services, Kafka and PostgreSQL of the state dir; data stays for the next up."""
    state_dir = state_dir or default_state_dir()
    state = load(state_dir)
    for name, record in state.services.items():
        services.stop(name, record.pid)
        record.pid = None
    for name in PROCESSES:  # started by a run whose stack.json is gone (web too)
        for pid in procs.find_pids(services.marker(name), f"TMIS_STATE_DIR={state_dir}"):
            services.stop(name, pid)
    _stop_kafka(state_dir, state)
    pg_paths = _pg_paths(state_dir, state)
    if pg_paths.data.exists():
        postgres.stop(pg_paths, state.postgres.pid if state.postgres else None)
    if state.postgres:
        state.postgres.pid = None
    if (state_dir / "stack.json").exists():
        save(state_dir, state)
    _say(f"stack stopped ({state_dir})")


def _stop_kafka(state_dir: Path, state: StackState) -> None:
    """Stop every broker at once (one by one, the last ones would wait for a controller
    quorum that is gone), also JVMs of this state dir that stack.json no longer names."""
    recorded = kafka_nodes(state_dir, state.kafka) if state.kafka else []
    pids = {(p.node, n.pid) for p, n in recorded if n.pid}
    layouts = [kafka.KafkaPaths(state_dir), *kafka.node_paths(state_dir, max(_brokers(state), 3))]
    by_node = {p.node: p for p in layouts}
    pids |= {(p.node, pid) for p in layouts for pid in procs.find_pids(p.marker)}
    if pids:
        with ThreadPoolExecutor(max_workers=len(pids)) as pool:
            for f in [pool.submit(kafka.stop, by_node[n], pid) for n, pid in pids]:
                f.result()
    for _, node in recorded:
        node.pid = None


def stop_infra(state_dir: Path, *, delete: bool = False) -> None:
    """Stop what ``start_infra`` started in ``state_dir``; ``delete`` also removes its data,
    logs and (when nothing else is left in it) the state dir itself."""
    down(state_dir)
    if delete:
        wipe(state_dir)
        with contextlib.suppress(OSError):
            state_dir.rmdir()


def _pg_paths(state_dir: Path, state: StackState) -> postgres.PgPaths:
    if state.postgres:
        return postgres.PgPaths(Path(state.postgres.base_dir))
    return postgres.pg_paths(state_dir)


def wipe(state_dir: Path) -> None:
    """Delete the stack's data, logs and state file (only what the stack itself creates:
    a mistaken TMIS_HOME must not lose anything else)."""
    state = load(state_dir)
    pg_base = _pg_paths(state_dir, state).base if state_dir.exists() else None
    for child in ("kafka", "pg", "logs"):
        shutil.rmtree(state_dir / child, ignore_errors=True)
    if pg_base is not None and pg_base.name.startswith("tmis-pg-"):  # the /tmp fallback
        shutil.rmtree(pg_base, ignore_errors=True)
    (state_dir / "stack.json").unlink(missing_ok=True)


# --- status -----------------------------------------------------------------------------


def status(state_dir: Path | None = None) -> bool:
    """Print what runs (pid alive, health) and the connection settings; True if all healthy."""
    state_dir = state_dir or default_state_dir()
    state = load(state_dir)
    if state.kafka is None:
        _say(f"stack not started ({state_dir}): run `tmis up`")
        return False
    rows = _status_rows(state_dir, state)
    for row in rows:
        _say(row.line())
    healthy = {row.name for row in rows if row.healthy}
    if any(name.startswith("kafka-") for name in healthy):  # a cluster answers while one does
        healthy.add("kafka")
    _print_env(state, only=healthy, state_dir=state_dir)
    return all(row.healthy for row in rows if row.counted)


@dataclass(frozen=True)
class _Row:
    """One line of ``tmis status``; ``counted`` rows decide the exit code."""

    name: str
    pid: int | None
    state: str
    where: str
    counted: bool = True

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"

    def line(self) -> str:
        pid = f"pid {self.pid}" if self.pid and self.state != "stopped" else "-"
        return f"{self.name:<10} {self.state:<19} {pid:<11} {self.where}"


def _row(name: str, pid: int | None, alive: bool, healthy: bool, where: str) -> _Row:
    state = "healthy" if alive and healthy else "running, unhealthy" if alive else "stopped"
    return _Row(name, pid, state, where)


def _status_rows(state_dir: Path, state: StackState) -> list[_Row]:
    rows: list[_Row] = []
    if state.kafka and state.kafka.brokers > 1:
        rows += _cluster_rows(state_dir, state.kafka)
    elif state.kafka:
        k = state.kafka
        alive = procs.pid_matches(k.pid, kafka.KafkaPaths(state_dir).marker)
        client = kafka_security.admin_client_kwargs(state_dir)
        ready = alive and kafka.is_ready(k.bootstrap, client)
        where = k.bootstrap + (" (SASL/SCRAM)" if client else "")
        rows.append(_row("kafka", k.pid, alive, ready, where))
    if state.postgres:
        pg = state.postgres
        alive = procs.pid_matches(pg.pid, _pg_paths(state_dir, state).marker)
        ready = alive and postgres.is_ready(pg.port)
        where = pg.url
        if ready:
            where += f" ({postgres.describe_durability(postgres.durability(pg.port))})"
        rows.append(_row("postgres", pg.pid, alive, ready, where))
    for name in services.available(REPO):
        record = state.services.get(name)
        if not state.with_services:
            rows.append(_Row(name, None, "not started", "(infra only)", counted=False))
            continue
        pid = record.pid if record else None
        alive = procs.pid_matches(pid, services.marker(name))
        healthy = alive and record is not None and services.is_healthy(record.port)
        rows.append(_row(name, pid, alive, healthy, record.url if record else "-"))
    return rows


def _cluster_rows(state_dir: Path, record: KafkaRecord) -> list[_Row]:
    """One row per broker of a cluster: each answers for itself (its own address), and the
    count the cluster has registered is shown beside it."""
    registered = kafka.broker_count(record.bootstrap)
    rows = []
    for paths, node in kafka_nodes(state_dir, record):
        alive = procs.pid_matches(node.pid, paths.marker)
        ready = alive and kafka.is_ready(node.address)
        where = f"{node.address} (broker {paths.node} of {record.brokers}, " \
                f"{registered} registered)"
        rows.append(_row(f"kafka-{paths.node}", node.pid, alive, ready, where))
    return rows


def _healthy(state_dir: Path, state: StackState) -> bool:
    if state.kafka is None or state.postgres is None:
        return False
    return all(row.healthy for row in _status_rows(state_dir, state) if row.counted)


def _print_env(
    state: StackState, only: set[str] | None = None, state_dir: Path | None = None
) -> None:
    def shown(name: str) -> bool:
        return only is None or name in only

    if state.kafka and shown("kafka"):
        _say(f"TMIS_KAFKA_BOOTSTRAP={state.kafka.bootstrap}")
        for key, value in kafka_security.admin_env(state_dir or default_state_dir()).items():
            _say(f"{key}={value}")  # secure mode: local tools connect as the admin
    if state.postgres and shown("postgres"):
        _say(f"TMIS_DATABASE_URL={state.postgres.url}")
    for name, record in state.services.items():
        if shown(name) and record.pid:
            _say(f"TMIS_{name.upper()}_URL={record.url}")
