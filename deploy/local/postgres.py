"""A throwaway PostgreSQL cluster run with the system's ``initdb`` and ``pg_ctl``.

Trust authentication for user ``tmis`` on 127.0.0.1 only, durability switched off (fsync,
synchronous_commit, full_page_writes): this is a developer's and the test suite's database,
never a production one.

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
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.local import procs
from deploy.local.asyncio_bridge import run_coroutine
from deploy.local.errors import StackError

USER = "tmis"
DATABASE = "tmis"
SYSTEM_USER = "postgres"
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off "
    "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB"
)


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


def start(paths: PgPaths, port: int) -> int:
    """Start the server (``pg_ctl -w`` waits until it accepts connections); returns its pid."""
    _prepare_dirs(paths)
    options = f"-p {port} -k {paths.sock} {SERVER_OPTIONS}"
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


def database_url(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/{database}"


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
