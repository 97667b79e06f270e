"""Fakes for the account handlers' unit tests (this module holds no tests): the AccountStore
port in dictionaries, a transparent hasher, a clock the test moves."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.intake.domain.accounts import Account, Kind, Level, Unit
from services.intake.domain.school import School, profile_from
from services.intake.domain.signin import AddressAttempts, Attempts, SignInPolicy
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.account_ports import AccountDeps, AuditRow, Flag
from services.intake.service_layer.ports import Identity
from shared.auth import Principal, Role
from shared.contracts.base import EventPayload
from shared.contracts.events import TeacherRecord
from shared.contracts.vocabulary import Gender, PostStatus
from shared.errors import ConcurrencyConflict, Conflict
from shared.eventstore.store import Append, Metadata


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2017, 4, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeHasher:
    """Not a hash: a readable stand-in so tests can see what was stored."""

    async def hash(self, secret: str) -> str:
        return f"fake${secret}"

    async def verify(self, hashed: str | None, secret: str) -> bool:
        return hashed is not None and hashed == f"fake${secret}"

    def needs_rehash(self, hashed: str) -> bool:
        return False


def deps(clock: FakeClock | None = None, policy: SignInPolicy | None = None) -> AccountDeps:
    return AccountDeps(FakeHasher(), policy or SignInPolicy(), clock or FakeClock())


class FakeAccountStore:
    """The AccountStore port in dictionaries (only what the account handlers use)."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.hashes: dict[str, str] = {}
        self.streams: dict[str, list[EventPayload]] = {}
        self.metas: list[Metadata] = []
        self.attempt_rows: dict[tuple[str, str], Attempts] = {}  # (name, address)
        self.address_rows: dict[str, AddressAttempts] = {}
        self.school_rows: dict[str, School] = {}
        self.teacher_rows: dict[str, Teacher] = {}
        self.identity_rows: dict[str, Identity] = {}
        self.confirmations: set[tuple[str, int]] = set()
        self.flag_rows: dict[str, Flag] = {}
        self.fail_next_append = False

    # registry parts
    async def school(self, code: str, lock: Any = None) -> School | None:
        return self.school_rows.get(code)

    async def teacher(self, teacher_id: str, lock: bool = False) -> Teacher | None:
        return self.teacher_rows.get(teacher_id)

    async def identities(self, id_numbers: Collection[str]) -> dict[str, Identity]:
        return {i.id_number: i for i in self.identity_rows.values() if i.id_number in id_numbers}

    async def identity_of(self, teacher_id: str) -> Identity | None:
        return self.identity_rows.get(teacher_id)

    async def append(self, appends: Sequence[Append], meta: Metadata) -> list[Any]:
        if self.fail_next_append:
            self.fail_next_append = False
            raise ConcurrencyConflict(appends[-1].stream_id, appends[-1].expected_version, 99)
        out = []
        for a in appends:
            stream = self.streams.setdefault(a.stream_id, [])
            if a.expected_version is not None and a.expected_version != len(stream):
                raise ConcurrencyConflict(a.stream_id, a.expected_version, len(stream))
            for e in a.events:
                stream.append(e)
                out.append(_Env(a.stream_id, len(stream)))
        self.metas.append(meta)
        return out

    # accounts
    async def account(self, account_id: str, lock: bool = False) -> Account | None:
        return self.accounts.get(account_id)

    async def account_by_username(self, username: str, lock: bool = False) -> Account | None:
        return next((a for a in self.accounts.values() if a.username == username), None)

    async def teacher_account(self, teacher_id: str, lock: bool = False) -> Account | None:
        return next((a for a in self.accounts.values() if a.teacher_id == teacher_id), None)

    async def username_taken(self, username: str) -> bool:
        return await self.account_by_username(username) is not None

    async def has_administrators(self) -> bool:
        return any(a.kind is not Kind.TEACHER for a in self.accounts.values())

    async def lock_accounts_bootstrap(self) -> None:
        return None

    async def save_account(self, account: Account, password_hash: str | None = None) -> None:
        other = await self.account_by_username(account.username) if account.username else None
        if other is not None and other.account_id != account.account_id:
            raise Conflict("taken")
        self.accounts[account.account_id] = account
        if password_hash is not None:
            self.hashes[account.account_id] = password_hash

    async def password_hash(self, account_id: str) -> str | None:
        return self.hashes.get(account_id)

    async def save_password_hash(self, account_id: str, hashed: str) -> None:
        self.hashes[account_id] = hashed

    async def list_accounts(self, within: Unit, *, level: Level | None, kind: Kind | None,
                            active: bool | None, limit: int, offset: int,
                            username: str | None = None) -> list[Account]:
        found = [a for a in self.accounts.values() if within.contains(a.unit)
                 and level in (None, a.unit.level) and active in (None, a.active)
                 and (a.kind is kind if kind else a.kind is not Kind.TEACHER)
                 and username in (None, a.username)]
        return found[offset:offset + limit]

    async def locked_accounts(self, within: Unit, now: datetime) -> list[tuple[str, datetime]]:
        return []

    async def attempts(self, key: str, address: str) -> Attempts:
        return self.attempt_rows.get((key, address), Attempts())

    async def save_attempts(self, key: str, address: str, state: Attempts) -> None:
        self.attempt_rows[(key, address)] = state

    async def address_attempts(self, address: str, lock: bool = False) -> AddressAttempts:
        return self.address_rows.get(address, AddressAttempts())

    async def save_address_attempts(self, address: str, state: AddressAttempts) -> None:
        self.address_rows[address] = state

    async def audit(self, within: Unit, *, limit: int, before: int | None) -> list[AuditRow]:
        return []

    # self-service
    async def confirmed_versions(self, teacher_id: str) -> set[int]:
        return {v for t, v in self.confirmations if t == teacher_id}

    async def save_confirmation(self, teacher_id: str, record_version: int,
                                account_id: str) -> None:
        self.confirmations.add((teacher_id, record_version))

    async def save_flag(self, flag: Flag) -> None:
        self.flag_rows[flag.flag_id] = flag

    async def flag(self, flag_id: str, lock: bool = False) -> Flag | None:
        return self.flag_rows.get(flag_id)

    async def flags(self, school_code: str, *, open_only: bool, limit: int) -> list[Flag]:
        return [f for f in self.flag_rows.values()
                if f.school_code == school_code and (f.is_open or not open_only)][:limit]

    async def open_flags_of(self, teacher_id: str) -> list[Flag]:
        return [f for f in self.flag_rows.values() if f.teacher_id == teacher_id and f.is_open]

    async def count_open_flags(self, within: Unit) -> int:
        return sum(1 for f in self.flag_rows.values() if f.is_open)

    async def resolve_flag(self, flag_id: str, note: str) -> None:
        self.flag_rows[flag_id] = replace(self.flag_rows[flag_id], resolution=note,
                                          resolved_at=datetime.now(UTC))

    # helpers for tests
    def events_of(self, account_id: str) -> list[EventPayload]:
        return self.streams.get(f"account-{account_id}", [])

    def add_school(self, code: str, county: str = "620102") -> School:
        school = School(code, profile_from({"name": f"学校{code}", "stage": "primary",
                                            "county_code": county}), version=1)
        self.school_rows[code] = school
        return school

    def add_teacher(self, teacher_id: str, school: str, id_number: str) -> Teacher:
        record = TeacherRecord(name="测试", id_number_masked=id_number[:6] + "*" * 8 +
                               id_number[-4:], gender=Gender.MALE,
                               birth_date=datetime(1980, 1, 1).date(), ethnicity="汉族",
                               post_status=PostStatus.IN_POST, is_fulltime_teacher=True)
        teacher = Teacher(teacher_id, school, record, 0.8, version=1)
        self.teacher_rows[teacher_id] = teacher
        self.identity_rows[teacher_id] = Identity(teacher_id, id_number, school, True)
        return teacher


class _Env:
    def __init__(self, stream_id: str, version: int) -> None:
        self.stream_id = stream_id
        self.stream_version = version


def principal(role: str, **codes: str | None) -> Principal:
    """A dev token's principal: a role and codes, no account."""
    return Principal(subject=f"dev:{role}", role=Role(role), **codes)


def as_principal(account: Account) -> Principal:
    """The principal of a token issued to `account` at sign-in."""
    u = account.unit
    teacher = account.kind is Kind.TEACHER
    return Principal(subject=account.username or f"teacher:{account.teacher_id}",
                     role=Role(account.role), school_code=None if teacher else u.school_code,
                     county_code=None if teacher else u.county_code,
                     city_code=None if teacher else u.city_code, account_id=account.account_id,
                     account_version=account.token_version, teacher_id=account.teacher_id)
