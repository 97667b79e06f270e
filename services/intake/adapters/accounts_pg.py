"""The AccountStore port over PostgreSQL, and intake's own token gate.

`PgAccounts` is intake's `PgRegistry` (schools, teachers, identities, event appends) plus the
private account tables of migration 0110, on the same connection and transaction. The gate
reads the accounts table directly: intake disables an account in the same database, so its
next request is refused at once (other services follow the account topic, shared/accounts.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.intake.adapters.registry_pg import PgRegistry
from services.intake.domain.accounts import Account, Kind, Level, Unit, role_for
from services.intake.domain.signin import AddressAttempts, Attempts
from services.intake.service_layer.account_ports import AuditRow, Flag
from shared.db import checked_schema
from shared.errors import Conflict
from shared.eventstore.store import EventStore

_ACCOUNT_COLS = ("account_id, username, kind, level, school_code, county_code, city_code, "
                 "display_name, teacher_id, active, token_version, version")
_FLAG_COLS = ("flag_id, teacher_id, school_code, account_id, field, comment, record_version, "
              "created_at, resolved_at, resolution")


def _unit(row: asyncpg.Record) -> Unit:
    return Unit(Level(row["level"]), school_code=row["school_code"],
                county_code=row["county_code"], city_code=row["city_code"])


def _account(row: asyncpg.Record) -> Account:
    return Account(account_id=str(row["account_id"]), username=row["username"],
                   kind=Kind(row["kind"]), unit=_unit(row), active=row["active"],
                   token_version=row["token_version"], version=row["version"],
                   display_name=row["display_name"],
                   teacher_id=str(row["teacher_id"]) if row["teacher_id"] else None)


def _flag(row: asyncpg.Record) -> Flag:
    return Flag(flag_id=str(row["flag_id"]), teacher_id=str(row["teacher_id"]),
                school_code=row["school_code"], account_id=str(row["account_id"]),
                field=row["field"], comment=row["comment"],
                record_version=row["record_version"], created_at=row["created_at"],
                resolved_at=row["resolved_at"], resolution=row["resolution"])


def within_sql(unit: Unit, alias: str, param: int, school_col: str = "school_code"
               ) -> tuple[str, list[Any]]:
    """A WHERE fragment: rows of `alias` inside `unit` (school, county and city columns)."""
    match unit.level:
        case Level.SCHOOL:
            return f"{alias}.{school_col} = ${param}", [unit.school_code]
        case Level.COUNTY:
            return f"{alias}.county_code = ${param}", [unit.county_code]
        case Level.CITY:
            return f"{alias}.city_code = ${param}", [unit.city_code]
    return f"${param}::text IS NULL", [None]


def _uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


class PgAccounts(PgRegistry):
    # ------------------------------------------------------------------ accounts
    async def _one(self, where: str, value: Any, lock: bool) -> Account | None:
        row = await self.conn.fetchrow(
            f"SELECT {_ACCOUNT_COLS} FROM {self.s}.accounts WHERE {where} = $1"
            + (" FOR UPDATE" if lock else ""), value)
        return _account(row) if row else None

    async def account(self, account_id: str, lock: bool = False) -> Account | None:
        if not _uuid(account_id):
            return None
        return await self._one("account_id", UUID(account_id), lock)

    async def account_by_username(self, username: str, lock: bool = False) -> Account | None:
        return await self._one("username", username, lock)

    async def teacher_account(self, teacher_id: str, lock: bool = False) -> Account | None:
        if not _uuid(teacher_id):
            return None
        return await self._one("teacher_id", UUID(teacher_id), lock)

    async def username_taken(self, username: str) -> bool:
        return bool(await self.conn.fetchval(
            f"SELECT true FROM {self.s}.accounts WHERE username = $1", username))

    async def has_administrators(self) -> bool:
        return bool(await self.conn.fetchval(
            f"SELECT true FROM {self.s}.accounts WHERE kind <> 'teacher' LIMIT 1"))

    async def lock_accounts_bootstrap(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                f"accounts-bootstrap:{self.s}")

    async def save_account(self, account: Account, password_hash: str | None = None) -> None:
        """Insert or update the account; `password_hash` None keeps the stored hash (a new
        account must come with one)."""
        u = account.unit
        values = (UUID(account.account_id), account.username, account.kind.value,
                  u.level.value, u.school_code, u.county_code, u.city_code,
                  account.display_name,
                  UUID(account.teacher_id) if account.teacher_id else None, account.active,
                  account.token_version, account.version, password_hash)
        try:
            async with self.conn.transaction():
                updated = await self.conn.fetchval(
                    f"""UPDATE {self.s}.accounts SET username = $2, kind = $3, level = $4,
                          school_code = $5, county_code = $6, city_code = $7,
                          display_name = $8, teacher_id = $9, active = $10,
                          token_version = $11, version = $12,
                          password_hash = COALESCE($13, password_hash), updated_at = now()
                        WHERE account_id = $1 RETURNING true""", *values)
                if not updated:
                    await self.conn.execute(
                        f"INSERT INTO {self.s}.accounts ({_ACCOUNT_COLS}, password_hash) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                        *values)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"the username {account.username} is taken (用户名已存在)") from exc

    async def password_hash(self, account_id: str) -> str | None:
        value = await self.conn.fetchval(
            f"SELECT password_hash FROM {self.s}.accounts WHERE account_id = $1",
            UUID(account_id))
        return str(value) if value is not None else None

    async def save_password_hash(self, account_id: str, hashed: str) -> None:
        await self.conn.execute(
            f"UPDATE {self.s}.accounts SET password_hash = $2 WHERE account_id = $1",
            UUID(account_id), hashed)

    async def list_accounts(self, within: Unit, *, level: Level | None, kind: Kind | None,
                            active: bool | None, limit: int, offset: int,
                            username: str | None = None) -> list[Account]:
        where, args = within_sql(within, "a", 1)
        rows = await self.conn.fetch(
            f"SELECT {_ACCOUNT_COLS} FROM {self.s}.accounts a WHERE {where} "
            "AND ($2::text IS NULL OR a.level = $2) "
            "AND (CASE WHEN $3::text IS NULL THEN a.kind <> 'teacher' ELSE a.kind = $3 END) "
            "AND ($4::boolean IS NULL OR a.active = $4) "
            "AND ($7::text IS NULL OR a.username = $7) "
            "ORDER BY array_position(ARRAY['province', 'city', 'county', 'school'], a.level), "
            "a.city_code NULLS FIRST, a.county_code NULLS FIRST, a.school_code NULLS FIRST, "
            "a.kind, a.username LIMIT $5 OFFSET $6",
            *args, level.value if level else None, kind.value if kind else None, active,
            limit, offset, username)
        return [_account(r) for r in rows]

    async def locked_accounts(self, within: Unit, now: datetime) -> list[tuple[str, datetime]]:
        where, args = within_sql(within, "a", 1)
        # locked at one address or more: the latest lock
        rows = await self.conn.fetch(
            f"SELECT a.username, max(s.locked_until) AS locked_until "
            f"FROM {self.s}.signin_attempts s "
            f"JOIN {self.s}.accounts a ON s.name = 'user:' || a.username "
            f"WHERE {where} AND s.locked_until > $2 GROUP BY a.username "
            "ORDER BY locked_until", *args, now)
        return [(r["username"], r["locked_until"]) for r in rows]

    # ------------------------------------------------------------------ sign-in attempts
    async def attempts(self, key: str, address: str) -> Attempts:
        await self.conn.execute(
            f"INSERT INTO {self.s}.signin_attempts (name, address) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING", key, address)
        row = await self.conn.fetchrow(
            f"SELECT failures, locked_until, next_attempt_at FROM {self.s}.signin_attempts "
            "WHERE name = $1 AND address = $2 FOR UPDATE", key, address)
        return Attempts(row["failures"], row["locked_until"], row["next_attempt_at"])

    async def save_attempts(self, key: str, address: str, state: Attempts) -> None:
        await self.conn.execute(
            f"UPDATE {self.s}.signin_attempts SET failures = $3, locked_until = $4, "
            "next_attempt_at = $5, updated_at = now() WHERE name = $1 AND address = $2",
            key, address, state.failures, state.locked_until, state.next_attempt_at)

    async def address_attempts(self, address: str, lock: bool = False) -> AddressAttempts:
        if lock:
            await self.conn.execute(
                f"INSERT INTO {self.s}.signin_address_attempts (address) VALUES ($1) "
                "ON CONFLICT DO NOTHING", address)
        row = await self.conn.fetchrow(
            f"SELECT failures, window_started_at, locked_until "
            f"FROM {self.s}.signin_address_attempts WHERE address = $1"
            + (" FOR UPDATE" if lock else ""), address)
        if row is None:
            return AddressAttempts()
        return AddressAttempts(row["failures"], row["window_started_at"], row["locked_until"])

    async def save_address_attempts(self, address: str, state: AddressAttempts) -> None:
        await self.conn.execute(
            f"UPDATE {self.s}.signin_address_attempts SET failures = $2, "
            "window_started_at = $3, locked_until = $4, updated_at = now() WHERE address = $1",
            address, state.failures, state.window_started_at, state.locked_until)

    # ------------------------------------------------------------------ audit
    async def audit(self, within: Unit, *, limit: int, before: int | None) -> list[AuditRow]:
        where, args = within_sql(within, "a", 1)
        rows = await self.conn.fetch(
            f"""SELECT e.position, e.recorded_at, e.occurred_at, e.actor, e.event_type,
                       e.payload, a.account_id, a.username, a.kind, a.level, a.school_code,
                       a.county_code, a.city_code
                FROM {self.s}.accounts a
                JOIN {self.s}.events e ON e.stream_id = 'account-' || a.account_id::text
                WHERE {where} AND ($2::bigint IS NULL OR e.position < $2)
                ORDER BY e.position DESC LIMIT $3""", *args, before, limit)
        out = []
        for r in rows:
            payload = r["payload"]
            if isinstance(payload, str):
                payload = json.loads(payload)
            details = {k: v for k, v in payload.items() if k != "account_id"}
            out.append(AuditRow(
                position=r["position"], recorded_at=r["recorded_at"],
                occurred_at=r["occurred_at"], actor=r["actor"], event_type=r["event_type"],
                account_id=str(r["account_id"]), username=r["username"],
                role=role_for(Kind(r["kind"]), Level(r["level"])), unit=_unit(r),
                details=details))
        return out

    # ------------------------------------------------------------------ self-service
    async def confirmed_versions(self, teacher_id: str) -> set[int]:
        rows = await self.conn.fetch(
            f"SELECT record_version FROM {self.s}.teacher_confirmations WHERE teacher_id = $1",
            UUID(teacher_id))
        return {r["record_version"] for r in rows}

    async def save_confirmation(self, teacher_id: str, record_version: int,
                                account_id: str) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.teacher_confirmations (teacher_id, record_version, "
            "account_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            UUID(teacher_id), record_version, UUID(account_id))

    async def save_flag(self, flag: Flag) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.teacher_flags ({_FLAG_COLS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            UUID(flag.flag_id), UUID(flag.teacher_id), flag.school_code, UUID(flag.account_id),
            flag.field, flag.comment, flag.record_version, flag.created_at, flag.resolved_at,
            flag.resolution)

    async def flag(self, flag_id: str, lock: bool = False) -> Flag | None:
        if not _uuid(flag_id):
            return None
        row = await self.conn.fetchrow(
            f"SELECT {_FLAG_COLS} FROM {self.s}.teacher_flags WHERE flag_id = $1"
            + (" FOR UPDATE" if lock else ""), UUID(flag_id))
        return _flag(row) if row else None

    async def flags(self, school_code: str, *, open_only: bool, limit: int) -> list[Flag]:
        rows = await self.conn.fetch(
            f"SELECT {_FLAG_COLS} FROM {self.s}.teacher_flags WHERE school_code = $1 "
            "AND (NOT $2 OR resolved_at IS NULL) ORDER BY created_at LIMIT $3",
            school_code, open_only, limit)
        return [_flag(r) for r in rows]

    async def open_flags_of(self, teacher_id: str) -> list[Flag]:
        rows = await self.conn.fetch(
            f"SELECT {_FLAG_COLS} FROM {self.s}.teacher_flags WHERE teacher_id = $1 "
            "AND resolved_at IS NULL ORDER BY created_at", UUID(teacher_id))
        return [_flag(r) for r in rows]

    async def count_open_flags(self, within: Unit) -> int:
        where, args = within_sql(within, "s", 1, school_col="code")
        return int(await self.conn.fetchval(
            f"SELECT count(*) FROM {self.s}.teacher_flags f "
            f"JOIN {self.s}.schools s ON s.code = f.school_code "
            f"WHERE f.resolved_at IS NULL AND {where}", *args))

    async def resolve_flag(self, flag_id: str, note: str) -> None:
        await self.conn.execute(
            f"UPDATE {self.s}.teacher_flags SET resolved_at = now(), resolution = $2 "
            "WHERE flag_id = $1", UUID(flag_id), note)


@asynccontextmanager
async def accounts_unit_of_work(pool: asyncpg.Pool, store: EventStore
                                ) -> AsyncIterator[PgAccounts]:
    """One transaction on one pooled connection, as an AccountStore."""
    async with pool.acquire() as conn, conn.transaction():
        yield PgAccounts(conn, store)


class IntakeAccountGate:
    """Intake's gate: the accounts table itself (a disable is visible to the next request)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)

    async def is_active(self, account_id: str, version: int) -> bool:
        if not _uuid(account_id):
            return False
        ok = await self.pool.fetchval(
            f"SELECT active AND token_version = $2 FROM {self.schema}.accounts "
            "WHERE account_id = $1", UUID(account_id), version)
        return bool(ok)
