"""One database role per service (deploy/local/db_roles.py): a service's role works in its own
schema (migrations included) and cannot read, write or even see into another service's schema,
nor create schemas or tables elsewhere. Against the suite's real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest

from deploy.local.db_roles import ensure_role
from shared.db import apply_migrations

pytestmark = pytest.mark.integration


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
async def two_services(stack_env: Any) -> AsyncIterator[dict[str, Any]]:
    """Roles and schemas of two made-up services, `a` and `b`, each with a table; `a`'s schema
    also has a table the administrator made before the roles existed (an older stack)."""
    tag = uuid4().hex[:8]
    names = {k: (f"tmis_t{tag}_{k}", f"roles_{tag}_{k}") for k in ("a", "b")}
    admin = await asyncpg.connect(stack_env.database_url)
    await admin.execute(f"CREATE SCHEMA {names['a'][1]}")
    await admin.execute(f"CREATE TABLE {names['a'][1]}.older (n int)")
    for role, schema in names.values():
        await ensure_role(admin, role, schema)
    await ensure_role(admin, *names["a"])  # twice: nothing changes, nothing fails
    conns = {k: await asyncpg.connect(as_role(stack_env.database_url, role))
             for k, (role, _) in names.items()}
    for k, (_, schema) in names.items():
        await conns[k].execute(f"CREATE TABLE {schema}.secrets (v text)")
        await conns[k].execute(f"INSERT INTO {schema}.secrets VALUES ('{k}')")
    yield {"names": names, "conns": conns, "admin": admin, "url": stack_env.database_url}
    for c in conns.values():
        await c.close()
    for role, schema in names.values():
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
    await admin.close()


async def test_a_service_role_reads_and_writes_its_own_schema_and_what_an_older_stack_left(
        two_services: dict[str, Any]) -> None:
    a, schema = two_services["conns"]["a"], two_services["names"]["a"][1]
    assert await a.fetchval(f"SELECT v FROM {schema}.secrets") == "a"
    await a.execute(f"INSERT INTO {schema}.older VALUES (1)")  # handed over by ensure_role
    assert await a.fetchval(f"SELECT count(*) FROM {schema}.older") == 1


@pytest.mark.parametrize("statement", [
    "SELECT v FROM {b}.secrets",
    "INSERT INTO {b}.secrets VALUES ('from a')",
    "CREATE TABLE {b}.planted (n int)",
    "DROP TABLE {b}.secrets",
])
async def test_a_service_role_cannot_touch_another_services_schema(
        two_services: dict[str, Any], statement: str) -> None:
    a, b = two_services["conns"]["a"], two_services["names"]["b"][1]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await a.execute(statement.format(b=b))
    assert await two_services["admin"].fetchval(f"SELECT array_agg(v) FROM {b}.secrets") == ["b"]


@pytest.mark.parametrize("statement", [
    "CREATE SCHEMA roles_planted_{tag}",
    "CREATE TABLE public.planted_{tag} (n int)",
    "CREATE ROLE planted_{tag}",
])
async def test_a_service_role_creates_nothing_outside_its_schema(
        two_services: dict[str, Any], statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await two_services["conns"]["a"].execute(statement.format(tag=uuid4().hex[:8]))


async def test_a_services_migrations_run_under_its_own_role(
        two_services: dict[str, Any], tmp_path: Path) -> None:
    role, schema = two_services["names"]["a"]
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    pool = await asyncpg.create_pool(as_role(two_services["url"], role), min_size=1,
                                     max_size=1)
    try:
        assert await apply_migrations(pool, schema, [tmp_path]) == [1]
        assert await apply_migrations(pool, schema, [tmp_path]) == []
        owner = await pool.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'things'",
            schema)
        assert owner == role
    finally:
        await pool.close()
