"""A throwaway PostgreSQL cluster run with the system's ``initdb`` and ``pg_ctl``.

Trust authentication for user ``tmis`` on 127.0.0.1 only. Durable by default: fsync,
synchronous_commit and full_page_writes are on, so a write acknowledged to a client survives a
crash of the server or the machine. ``TMIS_PG_DURABILITY=off`` (the one explicit opt-out, read
when the server starts) switches the three off for a throwaway test database; ``tmis status``
reads the three settings back from the running server and shows which mode it is in.

Settings that keep durability and make it cheaper: a WAL large enough that checkpoints (and the
full-page images after each) are rare during a load, and wal_buffers sized for bursts of group
commit (many sessions committing together share one WAL flush).

``initdb`` refuses to run as root. When we are root (CI machines, containers) initdb and pg_ctl
run as the ``postgres`` system user via ``runuser``, and the cluster's dirs are chowned to it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.local import procs
from deploy.local.asyncio_bridge import run_coroutine
from deploy.local.errors import StackError

USER = "tmis"
DATABASE = "tmis"
SYSTEM_USER = "postgres"
DURABILITY_ENV = "TMIS_PG_DURABILITY"
DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")
# autovacuum_naptime 10 s (default 1 min): tables that grow from empty to tens of thousands of
# rows within a minute (an import, the province simulation) get statistics soon, so the planner
# does not keep choosing sequential scans planned for an empty table (seen in bench/, issue 14).
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB "
    "-c max_wal_size=4GB -c checkpoint_timeout=15min -c wal_buffers=16MB "
    "-c autovacuum_naptime=10s"
)
# Loaded when the server has it (Debian's postgresql package does): the benches and anyone
# profiling read pg_stat_statements.
STATEMENTS_OPTION = "-c shared_preload_libraries=pg_stat_statements"
DURABLE_OPTIONS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
UNSAFE_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def durability_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True (durable) unless ``TMIS_PG_DURABILITY=off`` says otherwise; anything else but
    ``on``/``off`` is refused so that a typo cannot silently switch durability off."""
    value = (os.environ if environ is None else environ).get(DURABILITY_ENV, "on").strip().lower()
    if value in ("on", "durable", ""):
        return True
    if value == "off":
        return False
    raise StackError(f"{DURABILITY_ENV}={value!r}: use 'on' (the default) or 'off'")


@dataclass(frozen=True)
class PgPaths:
    """Where one state dir's cluster lives: ``base`` holds data/, sock/ and log."""

    base: Path

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def sock(self) -> Path:
        return self.base / "sock"

    @property
    def log(self) -> Path:
        return self.base / "log"

    @property
    def marker(self) -> str:
        """What the postmaster's command line contains (``postgres -D <data>``)."""
        return f"-D {self.data}"


def as_root() -> bool:
    return os.geteuid() == 0


def pg_paths(state_dir: Path) -> PgPaths:
    """The cluster's dirs: ``<state>/pg`` unless the postgres user cannot reach it.

    As root the server runs as ``postgres``, which must traverse every parent of its data dir.
    A repo under e.g. /root (mode 700) is not traversable: then the cluster lives under
    /tmp/tmis-pg-<hash of the state dir> instead, still one cluster per state dir.
    """
    preferred = PgPaths(state_dir / "pg")
    if not as_root() or _postgres_can_traverse(state_dir):
        return preferred
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return PgPaths(Path("/tmp") / f"tmis-pg-{digest}")


def _postgres_can_traverse(directory: Path) -> bool:
    done = subprocess.run(
        ["runuser", "-u", SYSTEM_USER, "--", "test", "-x", str(directory)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server program: PATH first, then Debian's versioned dirs."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise StackError(
        f"{name} not found: install the PostgreSQL server "
        "(Debian/Ubuntu: apt-get install postgresql)"
    )


def _has_library(name: str) -> bool:
    """Whether the server's lib dir (beside its bin dir) has ``name``.so."""
    server = Path(pg_bin("postgres")).resolve()
    return (server.parents[1] / "lib" / f"{name}.so").exists()


def _as_server_user(cmd: list[str]) -> list[str]:
    if not as_root():
        return cmd
    if shutil.which("runuser") is None:
        raise StackError("running as root needs runuser (util-linux) to start PostgreSQL")
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError as exc:
        raise StackError(
            "running as root needs the 'postgres' system user "
            "(Debian/Ubuntu: apt-get install postgresql creates it)"
        ) from exc
    return ["runuser", "-u", SYSTEM_USER, "--", *cmd]


def _prepare_dirs(paths: PgPaths) -> None:
    for directory in (paths.base, paths.sock):
        directory.mkdir(parents=True, exist_ok=True)
        if as_root():
            shutil.chown(directory, user=SYSTEM_USER, group=None)
            os.chmod(directory, 0o700)


def init_cluster(paths: PgPaths) -> None:
    """``initdb`` once (C.UTF-8 locale, or C where that locale is missing)."""
    if (paths.data / "PG_VERSION").exists():
        return
    _prepare_dirs(paths)
    base = [pg_bin("initdb"), "-D", str(paths.data), "-A", "trust", "-U", USER, "-E", "UTF8"]
    try:
        procs.run(_as_server_user([*base, "--locale=C.UTF-8"]), what="initdb", cwd=paths.base)
    except StackError:
        shutil.rmtree(paths.data, ignore_errors=True)
        procs.run(_as_server_user([*base, "--locale=C"]), what="initdb", cwd=paths.base)


def start(paths: PgPaths, port: int, *, durable: bool = True) -> int:
    """Start the server (``pg_ctl -w`` waits until it accepts connections); returns its pid.
    ``durable=False`` only for a throwaway database (see ``durability_requested``)."""
    _prepare_dirs(paths)
    options = (f"-p {port} -k {paths.sock} {SERVER_OPTIONS} "
               f"{DURABLE_OPTIONS if durable else UNSAFE_OPTIONS}")
    if _has_library("pg_stat_statements"):
        options += f" {STATEMENTS_OPTION}"
    cmd = [pg_bin("pg_ctl"), "-w", "-t", "60", "-D", str(paths.data), "-l", str(paths.log),
           "-o", options, "start"]  # fmt: skip
    try:
        procs.run(_as_server_user(cmd), what=f"pg_ctl start on port {port}", cwd=paths.base)
    except StackError as exc:
        raise StackError(f"{exc}{procs.tails([paths.log])}") from exc
    pid = postmaster_pid(paths)
    if pid is None:
        raise StackError(f"PostgreSQL started but wrote no pid file{procs.tails([paths.log])}")
    return pid


def postmaster_pid(paths: PgPaths) -> int | None:
    """The pid in ``postmaster.pid``, or None."""
    try:
        first = (paths.data / "postmaster.pid").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None


def database_url(port: int, database: str = DATABASE, user: str = USER) -> str:
    return f"postgresql://{user}@127.0.0.1:{port}/{database}"


def ensure_database(port: int, database: str = DATABASE) -> None:
    """Create ``database`` unless it exists."""
    run_coroutine(_ensure_database(port, database))


async def _ensure_database(port: int, database: str) -> None:
    conn = await asyncpg.connect(database_url(port, "postgres"), timeout=10)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            await conn.execute(f'create database "{database}"')
    finally:
        await conn.close()


def is_ready(port: int) -> bool:
    """True when ``select 1`` succeeds in the tmis database."""
    return run_coroutine(_select_one(port))


async def _select_one(port: int) -> bool:
    try:
        conn = await asyncpg.connect(database_url(port), timeout=3)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return False
    try:
        return bool(await conn.fetchval("select 1") == 1)
    finally:
        await conn.close()


def durability(port: int) -> dict[str, str] | None:
    """The running server's fsync, synchronous_commit and full_page_writes (None: no answer)."""
    return run_coroutine(_durability(port))


async def _durability(port: int) -> dict[str, str] | None:
    try:
        conn = await asyncpg.connect(database_url(port), timeout=3)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return None
    try:
        rows = await conn.fetch("SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
                                list(DURABILITY_SETTINGS))
        return {r["name"]: r["setting"] for r in rows}
    finally:
        await conn.close()


def is_durable(settings: Mapping[str, str]) -> bool:
    return all(settings.get(name) == "on" for name in DURABILITY_SETTINGS)


def describe_durability(settings: Mapping[str, str] | None) -> str:
    if settings is None:
        return "durability unknown"
    if is_durable(settings):
        return "durable: fsync, synchronous_commit, full_page_writes on"
    shown = ", ".join(f"{k}={settings.get(k, '?')}" for k in DURABILITY_SETTINGS)
    return f"NOT DURABLE ({DURABILITY_ENV}=off): {shown}"


def stop(paths: PgPaths, pid: int | None) -> None:
    """``pg_ctl stop -m fast``; if that fails, signal the postmaster ourselves."""
    if (paths.data / "postmaster.pid").exists():
        cmd = [pg_bin("pg_ctl"), "-w", "-t", "30", "-D", str(paths.data), "-m", "fast", "stop"]
        try:
            procs.run(_as_server_user(cmd), what="pg_ctl stop", cwd=paths.base)
        except StackError:
            pass  # not running, or hung: the pid below is the fallback
    for stale in {pid, postmaster_pid(paths)}:
        procs.stop_pid(stale, paths.marker, grace=10)
