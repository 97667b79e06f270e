"""Handlers for accounts: create, disable, enable, reset a password, hand over, list, audit.

Each runs in one transaction (the caller's unit of work): it locks the accounts it changes,
asks the domain (services/intake/domain/accounts.py: who manages whom) for events, appends them
to the account streams and saves the accounts table, which is also what intake's token gate
reads, so a disabled account is refused from its next request on.

Bootstrap: while no administrator account exists, a service token (TMIS_JWT_SECRET in hand:
`tmis account create --bootstrap`) may create the province's first system administrator;
once one exists, accounts are created by signed-in system administrators only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import uuid4

from services.intake.domain import accounts as domain
from services.intake.domain.accounts import Account, Kind, Level, Manager, NewSuccessor, Unit
from services.intake.service_layer.account_ports import AccountDeps, AccountStore, AuditRow
from services.intake.service_layer.common import metadata
from shared.auth import Principal, Role
from shared.contracts.base import EventPayload
from shared.domain.divisions import divisions
from shared.errors import Forbidden, NotFound, Problem, ValidationProblem
from shared.eventstore.store import Append

_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LEVEL_OF_PREFIX = {"province": Level.PROVINCE, "city": Level.CITY, "county": Level.COUNTY,
                    "school": Level.SCHOOL}


def new_password() -> str:
    """A random password shown once: 16 characters, letters and digits (about 93 bits)."""
    while True:
        pw = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
        if not pw.isalpha() and not pw.isdigit():
            return pw


@dataclass(frozen=True)
class CreateAccount:
    kind: Kind
    level: Level
    code: str | None
    username: str
    display_name: str = ""
    password: str | None = None


@dataclass(frozen=True)
class AccountResult:
    account: Account
    password: str | None = None  # only when generated here: shown once, never stored


@dataclass(frozen=True)
class HandoverResult:
    predecessor: Account
    successor: Account
    password: str | None = None


def unit_of(who: Principal) -> Unit:
    """The unit a principal acts for, from its role and codes."""
    prefix = who.role.value.split("_", 1)[0]
    level = _LEVEL_OF_PREFIX.get(prefix)
    if level is None:  # query, service
        level = (Level.SCHOOL if who.school_code else Level.COUNTY if who.county_code else
                 Level.CITY if who.city_code else Level.PROVINCE)
    return Unit(level, school_code=who.school_code, county_code=who.county_code,
                city_code=who.city_code)


def manager_of(who: Principal) -> Manager:
    return Manager(role=who.role.value, unit=unit_of(who), account_id=who.account_id)


async def unit_for(repo: AccountStore, level: Level, code: str | None) -> Unit:
    """The unit named by a level and its code, checked against the registry and divisions."""
    if level is Level.PROVINCE:
        if code:
            raise ValidationProblem([Problem("code", "a province account takes no code")])
        return Unit(Level.PROVINCE)
    if not code:
        raise ValidationProblem([Problem("code", f"a {level.value} account needs its code")])
    if level is Level.CITY:
        if code not in divisions().cities:
            raise ValidationProblem([Problem("code", f"{code} is not a city of Gansu")])
        return Unit(Level.CITY, city_code=code)
    if level is Level.COUNTY:
        county = divisions().county(code)
        if county is None:
            raise ValidationProblem([Problem("code", f"{code} is not a county of Gansu")])
        return Unit(Level.COUNTY, county_code=code, city_code=county.city_code)
    school = await repo.school(code)
    if school is None:
        raise ValidationProblem([Problem("code", f"no school {code} in the registry")])
    return Unit(Level.SCHOOL, school_code=code, county_code=school.profile.county_code,
                city_code=school.profile.city_code)


async def _append(repo: AccountStore, who: Principal, account: Account | None, account_id: str,
                  events: list[EventPayload], password_hash: str | None = None) -> Account:
    envs = await repo.append([Append(domain.stream_id(account_id),
                                     account.version if account else 0, events)],
                             metadata(who))
    for env, event in zip(envs, events, strict=True):
        account = domain.evolve(account, event, env.stream_version)
    assert account is not None
    await repo.save_account(account, password_hash)
    return account


async def _target(repo: AccountStore, account_id: str) -> Account:
    account = await repo.account(account_id, lock=True)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


async def _password(deps: AccountDeps, given: str | None) -> tuple[str, str | None]:
    """(hash, the generated password or None when the caller chose one)."""
    if given is not None:
        domain.check_password(given)
        return await deps.hasher.hash(given), None
    generated = new_password()
    return await deps.hasher.hash(generated), generated


async def create_account(repo: AccountStore, deps: AccountDeps, who: Principal,
                         cmd: CreateAccount) -> AccountResult:
    manager = manager_of(who)
    if who.role is Role.SERVICE and who.account_id is None:
        manager = await _bootstrap_manager(repo, cmd)
    unit = await unit_for(repo, cmd.level, cmd.code)
    account_id = str(uuid4())
    event = domain.create_account(manager, account_id, cmd.username, cmd.kind, unit,
                                  cmd.display_name,
                                  username_taken=await repo.username_taken(cmd.username))
    hashed, generated = await _password(deps, cmd.password)
    account = await _append(repo, who, None, account_id, [event], hashed)
    return AccountResult(account, generated)


async def _bootstrap_manager(repo: AccountStore, cmd: CreateAccount) -> Manager:
    await repo.lock_accounts_bootstrap()
    if await repo.has_administrators():
        raise Forbidden("accounts exist already: sign in as a system administrator to create "
                        "accounts (请使用系统管理员账号登录)")
    if cmd.kind is not Kind.SYSTEM or cmd.level is not Level.PROVINCE:
        raise ValidationProblem([Problem("kind", "the first account is the province's system "
                                                 "administrator (kind system, level province)")])
    return Manager(role="province_sysadmin", unit=Unit(Level.PROVINCE))


async def disable_account(repo: AccountStore, who: Principal, account_id: str) -> Account:
    target = await _target(repo, account_id)
    event = domain.disable(manager_of(who), target)
    return await _append(repo, who, target, account_id, [event]) if event else target


async def enable_account(repo: AccountStore, who: Principal, account_id: str) -> Account:
    target = await _target(repo, account_id)
    event = domain.enable(manager_of(who), target)
    return await _append(repo, who, target, account_id, [event]) if event else target


async def reset_password(repo: AccountStore, deps: AccountDeps, who: Principal,
                         account_id: str, password: str | None) -> AccountResult:
    target = await _target(repo, account_id)
    event = domain.reset_password(manager_of(who), target)
    hashed, generated = await _password(deps, password)
    return AccountResult(await _append(repo, who, target, account_id, [event], hashed), generated)


async def change_own_password(repo: AccountStore, deps: AccountDeps, who: Principal,
                              current: str, new: str) -> Account:
    if who.account_id is None:
        raise Forbidden("this token names no account (dev token); sign in first")
    holder = await _target(repo, who.account_id)
    if holder.kind is Kind.TEACHER:
        raise Forbidden("a teacher's credential is issued by the school")
    if not await deps.hasher.verify(await repo.password_hash(holder.account_id), current):
        raise Forbidden("the current password is wrong (原密码错误)")
    domain.check_password(new, "new_password")
    return await _append(repo, who, holder, holder.account_id,
                         [domain.change_own_password(holder)], await deps.hasher.hash(new))


async def handover(repo: AccountStore, deps: AccountDeps, who: Principal, account_id: str, *,
                   successor_id: str | None, username: str | None, display_name: str = "",
                   password: str | None = None) -> HandoverResult:
    """One transaction: the predecessor is disabled and the successor holds the role, or
    nothing happens (a stale version on either stream rolls both back)."""
    predecessor = await _target(repo, account_id)
    existing: Account | None = None
    if successor_id is not None:
        existing = await repo.account(successor_id, lock=True)
        if existing is None:
            raise ValidationProblem([Problem("successor_account_id",
                                             f"no account {successor_id}")])
    if (existing is None) == (username is None):
        raise ValidationProblem([Problem("successor", "name either an existing account "
                                                      "(successor_account_id) or a new username")])
    successor: Account | NewSuccessor = existing or NewSuccessor(
        str(uuid4()), username or "", display_name,
        username_taken=await repo.username_taken(username or ""))
    plan = domain.handover(manager_of(who), predecessor, successor)
    hashed, generated = (await _password(deps, password) if plan.successor_created
                         else (None, None))
    envs = await repo.append([
        Append(predecessor.stream_id, predecessor.version, plan.predecessor),
        Append(domain.stream_id(plan.successor_id), existing.version if existing else 0,
               plan.successor),
    ], metadata(who))
    # append_many returns the rows in append order: the predecessor's event, the successor's
    before = domain.evolve(predecessor, plan.predecessor[0], envs[0].stream_version)
    after = domain.evolve(existing, plan.successor[0], envs[1].stream_version)
    await repo.save_account(before)
    await repo.save_account(after, hashed)
    return HandoverResult(before, after, generated)


# --------------------------------------------------------------------------- reads


def _within(who: Principal, asked: Unit | None) -> Unit:
    """The unit a system administrator reads: its own, or a unit inside it."""
    manager = manager_of(who)
    if not manager.is_sysadmin:
        raise Forbidden(f"{who.role} accounts do not manage accounts; system administrators "
                        "do (账号管理由系统管理员负责)")
    if asked is None:
        return manager.unit
    if not manager.unit.contains(asked):
        raise Forbidden(f"{who.role} of {manager.unit.describe()} may not read accounts of "
                        f"{asked.describe()}")
    return asked


async def get_account(repo: AccountStore, who: Principal, account_id: str) -> Account:
    account = await repo.account(account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    if who.account_id != account_id:
        _within(who, account.unit)
    return account


async def list_accounts(repo: AccountStore, who: Principal, *, level: Level | None,
                        code: str | None, kind: Kind | None, active: bool | None, limit: int,
                        offset: int, username: str | None = None) -> list[Account]:
    asked = await unit_for(repo, level, code) if level is not None and (
        code or level is Level.PROVINCE) else None
    within = _within(who, asked)
    return await repo.list_accounts(within, level=level, kind=kind, active=active, limit=limit,
                                    offset=offset, username=username)


async def audit(repo: AccountStore, who: Principal, *, level: Level | None, code: str | None,
                limit: int, before: int | None) -> list[AuditRow]:
    asked = await unit_for(repo, level, code) if level is not None else None
    return await repo.audit(_within(who, asked), limit=limit, before=before)
