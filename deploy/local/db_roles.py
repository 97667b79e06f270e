"""One PostgreSQL role per service, with rights on its own schema only (issue 17).

`tmis up` (and every stack deploy/local starts: make demo, the end-to-end and fault suites)
creates `tmis_intake`, `tmis_review`, `tmis_orgsync` and `tmis_reporting`: LOGIN, no superuser,
no CREATEDB, no CREATEROLE. Each owns its service's schema (and, for a stack created before the
roles existed, every table, sequence and view already in it is handed over); no role has any
right on another's schema, so a service that is made to run someone's SQL reads nothing of
the others'. Each service is started with a TMIS_DATABASE_URL naming its own role.

`tmis status` still prints the cluster's administrator URL: it is what the operator's tools
(`tmis report`, `tmis replay`, the benches) use. Tables such a tool creates in a service's
schema are usable by the service through default privileges, and are handed over at the next
`tmis up`.

The cluster's authentication is still `trust` on 127.0.0.1 (a local, single-user stack): the
roles bound what a service's connection may do, not who may connect on this machine.
"""

from __future__ import annotations

import re

import asyncpg

from deploy.local.asyncio_bridge import run_coroutine
from deploy.local.postgres import DATABASE, USER, database_url

# service -> its schema (the services' own defaults: intake/config.py, review/config.py, ...)
SCHEMAS: dict[str, str] = {"intake": "intake", "review": "review", "orgsync": "orgsync",
                           "reporting": "reporting"}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def role_of(service: str) -> str:
    return f"tmis_{service}"


def service_url(port: int, service: str, database: str = DATABASE) -> str:
    """The TMIS_DATABASE_URL a service is started with: its own role."""
    return database_url(port, database, user=role_of(service))


def ensure_service_roles(port: int, services: dict[str, str] | None = None) -> None:
    run_coroutine(_ensure(port, services or SCHEMAS))


async def _ensure(port: int, services: dict[str, str]) -> None:
    conn = await asyncpg.connect(database_url(port), timeout=10)
    try:
        for service, schema in services.items():
            await ensure_role(conn, role_of(service), schema)
    finally:
        await conn.close()


async def ensure_role(conn: asyncpg.Connection, role: str, schema: str) -> None:
    """`role` exists, may connect, owns `schema` and everything in it, and has no other rights
    than PUBLIC's (which, on PostgreSQL 15, no longer include creating in schema public)."""
    for name in (role, schema):
        if not _NAME.match(name):
            raise ValueError(f"not a plain SQL name: {name!r}")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('tmis:db_roles'))")
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                               "NOINHERIT NOREPLICATION")
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {role}')
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
        await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
        owned = await conn.fetch(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN"
            " ('r', 'p', 'v', 'm', 'S', 'f') AND pg_get_userbyid(c.relowner) <> $2", schema, role)
        for rel in owned:
            kind = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW",
                    "f": "FOREIGN TABLE"}.get(rel["relkind"], "TABLE")
            await conn.execute(f'ALTER {kind} {schema}."{rel["relname"]}" OWNER TO {role}')
        for kind in ("TABLES", "SEQUENCES"):
            await conn.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {USER} IN SCHEMA {schema} "
                               f"GRANT ALL ON {kind} TO {role}")
