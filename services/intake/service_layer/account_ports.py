"""The ports the account handlers talk to: the accounts store, password hashing, peers.

`AccountStore` extends intake's `Registry` (schools, teachers and identities are needed to
place an account and to sign a teacher in) with the private account tables: accounts and their
password hashes, sign-in attempts, teachers' confirmations and flags, and the audit read of the
account streams. The PostgreSQL adapter implements it over one connection in one transaction;
unit tests implement it with dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.intake.domain.accounts import Account, Kind, Level, Unit
from services.intake.domain.signin import AddressAttempts, Attempts, SignInPolicy
from services.intake.service_layer.ports import Registry


@dataclass(frozen=True)
class Flag:
    """A teacher's flag on a field of their record (the full comment: intake-private)."""

    flag_id: str
    teacher_id: str
    school_code: str
    account_id: str
    field: str
    comment: str
    record_version: int
    created_at: datetime
    resolved_at: datetime | None = None
    resolution: str = ""

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class AuditRow:
    position: int
    recorded_at: datetime
    occurred_at: datetime
    actor: str
    event_type: str
    account_id: str
    username: str | None
    role: str
    unit: Unit
    details: dict[str, Any] = field(default_factory=dict)


class AccountStore(Registry, Protocol):
    # accounts
    async def account(self, account_id: str, lock: bool = False) -> Account | None: ...
    async def account_by_username(self, username: str, lock: bool = False
                                  ) -> Account | None: ...
    async def teacher_account(self, teacher_id: str, lock: bool = False) -> Account | None: ...
    async def username_taken(self, username: str) -> bool: ...
    async def has_administrators(self) -> bool: ...
    async def lock_accounts_bootstrap(self) -> None: ...
    async def save_account(self, account: Account, password_hash: str | None = None) -> None: ...
    async def password_hash(self, account_id: str) -> str | None: ...
    async def save_password_hash(self, account_id: str, hashed: str) -> None: ...
    async def list_accounts(self, within: Unit, *, level: Level | None, kind: Kind | None,
                            active: bool | None, limit: int, offset: int,
                            username: str | None = None) -> list[Account]: ...
    async def locked_accounts(self, within: Unit, now: datetime) -> list[tuple[str, datetime]]: ...

    # sign-in attempts of a name ("user:<username>", "teacher:<teacher_id>", "idn:<HMAC>") at a
    # client address (row locked until commit), and of an address across names
    async def attempts(self, key: str, address: str) -> Attempts: ...
    async def save_attempts(self, key: str, address: str, state: Attempts) -> None: ...
    async def address_attempts(self, address: str, lock: bool = False) -> AddressAttempts: ...
    async def save_address_attempts(self, address: str, state: AddressAttempts) -> None: ...

    # audit: events of account streams whose account lies within `within`
    async def audit(self, within: Unit, *, limit: int, before: int | None) -> list[AuditRow]: ...

    # teachers' self-service
    async def confirmed_versions(self, teacher_id: str) -> set[int]: ...
    async def save_confirmation(self, teacher_id: str, record_version: int,
                                account_id: str) -> None: ...
    async def save_flag(self, flag: Flag) -> None: ...
    async def flag(self, flag_id: str, lock: bool = False) -> Flag | None: ...
    async def flags(self, school_code: str, *, open_only: bool, limit: int) -> list[Flag]: ...
    async def open_flags_of(self, teacher_id: str) -> list[Flag]: ...
    async def count_open_flags(self, within: Unit) -> int: ...
    async def resolve_flag(self, flag_id: str, note: str) -> None: ...


class PasswordHasher(Protocol):
    """A current password-hashing function (argon2id in production)."""

    async def hash(self, secret: str) -> str: ...
    async def verify(self, hashed: str | None, secret: str) -> bool: ...
    def needs_rehash(self, hashed: str) -> bool: ...


@dataclass(frozen=True)
class AccountDeps:
    hasher: PasswordHasher
    policy: SignInPolicy
    clock: Callable[[], datetime]
