"""PostgreSQL connection pools and versioned schema migrations.

Migrations are numbered SQL files (`NNNN_name.sql`) applied in order at service start, each in
its own transaction, recorded in `<schema>.schema_migrations`, under an advisory lock so two
instances starting together do not race. We chose plain numbered files over Alembic/yoyo: the
schemas are small, hand-written SQL reads best, and there is no ORM for Alembic to serve.
The shared event-store migrations use versions below 100; a service's own start at 100.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asyncpg

EVENTSTORE_MIGRATIONS = Path(__file__).parent / "eventstore" / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def checked_schema(schema: str) -> str:
    """A schema name safe to put into SQL text (identifiers cannot be bound parameters)."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def _jsonb_encode(value: Any) -> bytes:
    """jsonb's binary form (version 1, then the text); bytes are JSON already (the event
    store's payloads, serialised once) and pass as they are."""
    raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
    return b"\x01" + raw


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in binary form: binary COPY (the event store's large appends) needs it.
    await conn.set_type_codec("jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode,
                              schema="pg_catalog", format="binary")
    await conn.set_type_codec(
        "json", encoder=lambda v: json.dumps(v, ensure_ascii=False), decoder=json.loads,
        schema="pg_catalog",
    )


# Every session runs with JIT compilation off. Our statements are short and keyed; JIT pays
# only on long analytical scans, and a plan whose cost is inflated (reporting turns seqscans
# off to stay on its indexes, which prices any remaining scan at 1e10) crossed the JIT
# thresholds: 0.57 s of LLVM inlining/optimisation per 1,000-fact batch of 0.84 s in all
# (EXPLAIN ANALYZE during the notice province), the largest single cost of the pipeline.
#
# synchronous_commit on, whatever the server's default: a commit we acknowledge (an HTTP 201,
# an applied batch whose offset is then committed) must survive a crash of PostgreSQL. The
# local stack runs with synchronous_commit=off, and `pg_ctl restart -m immediate` during an
# import then lost teachers intake had already reported registered (tests/faults). With the
# stack's fsync=off the flush is one write() to the kernel per commit, not a disk sync.
SERVER_SETTINGS = {"jit": "off", "synchronous_commit": "on"}

# A statement that hangs (a server that stopped answering without closing the socket) must not
# hold a request or a consumer forever: asyncpg cancels it and raises TimeoutError, which
# shared.transient counts as the infrastructure's. Connecting gives up sooner.
COMMAND_TIMEOUT = 120.0
CONNECT_TIMEOUT = 10.0


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10,
                      command_timeout: float | None = COMMAND_TIMEOUT,
                      timeout: float = CONNECT_TIMEOUT, **kwargs: Any) -> asyncpg.Pool:
    settings = {**SERVER_SETTINGS, **kwargs.pop("server_settings", {})}
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection,
        server_settings=settings, command_timeout=command_timeout, timeout=timeout, **kwargs
    )
    assert pool is not None
    return pool


def _migration_files(dirs: list[Path]) -> list[tuple[int, str, Path]]:
    found: dict[int, tuple[int, str, Path]] = {}
    for d in dirs:
        for f in sorted(d.glob("*.sql")):
            m = _MIGRATION_FILE.match(f.name)
            if not m:
                raise ValueError(f"migration file {f} is not named NNNN_name.sql")
            version = int(m.group(1))
            if version in found:
                raise ValueError(f"migration version {version} appears twice: {f}")
            found[version] = (version, m.group(2), f)
    return [found[v] for v in sorted(found)]


async def apply_migrations(pool: asyncpg.Pool, schema: str, dirs: list[Path]) -> list[int]:
    """Apply every migration not yet applied to `schema`; returns the versions applied now."""
    schema = checked_schema(schema)
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        try:
            # Created here only when missing: a service's own role owns its schema but may
            # not create schemas (deploy/local/db_roles.py), and CREATE SCHEMA IF NOT EXISTS
            # checks that right even when the schema is there.
            if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
                await conn.execute(f"CREATE SCHEMA {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch(
                f"SELECT version FROM {schema}.schema_migrations")}
            for version, name, path in _migration_files(dirs):
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL search_path TO {schema}, public")
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute(
                        f"INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)",
                        version, name,
                    )
                applied_now.append(version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    return applied_now


async def drop_schema(pool: asyncpg.Pool, schema: str) -> None:
    schema = checked_schema(schema)
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
