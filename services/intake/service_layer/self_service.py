"""Handlers for teachers' self-service and the school's side of it.

A school administrator issues a teacher a credential (shown once; stored hashed). The teacher
signs in with their ID number and the credential, reads their own record (and only theirs: the
token names the teacher, and every other route refuses teacher tokens), confirms it or flags a
field with a comment. Flags reach the school at GET /v1/schools/{code}/flags; the school fixes
the record or explains and resolves the flag. Confirmations, flags and resolutions are events on
the teacher's account stream (tmis.intake.account.v1), which reporting can count.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from uuid import uuid4

from services.intake.domain import accounts as domain
from services.intake.domain import self_service as rules
from services.intake.domain.accounts import Account, Level, Unit
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.account_ports import AccountDeps, AccountStore, Flag
from services.intake.service_layer.common import metadata, region_of
from services.intake.service_layer.signin import normal_credential
from shared.auth import Principal, Role
from shared.contracts.base import EventPayload
from shared.errors import Conflict, Forbidden, NotFound
from shared.eventstore.store import Append

# No 0/o, 1/l/i: read aloud and typed from paper.
_CREDENTIAL_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_credential() -> str:
    """A one-time-shown passphrase such as 7kq2-m9xp-4hte-wr8n (16 characters, ~79 bits)."""
    raw = "".join(secrets.choice(_CREDENTIAL_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Issued:
    account: Account
    credential: str


@dataclass(frozen=True)
class OwnRecord:
    teacher: Teacher
    id_number: str | None
    confirmed_versions: set[int]
    open_flags: list[Flag]


async def _append(repo: AccountStore, who: Principal, account: Account | None, account_id: str,
                  event: EventPayload, password_hash: str | None = None,
                  unit: Unit | None = None) -> Account:
    envs = await repo.append([Append(domain.stream_id(account_id),
                                     account.version if account else 0, [event])],
                             metadata(who))
    new = domain.evolve(account, event, envs[-1].stream_version)
    if unit is not None:
        new = replace(new, unit=unit)
    await repo.save_account(new, password_hash)
    return new


async def _teacher(repo: AccountStore, teacher_id: str, lock: bool = False) -> Teacher:
    teacher = await repo.teacher(teacher_id, lock=lock)
    if teacher is None:
        raise NotFound(f"no teacher {teacher_id}")
    return teacher


async def issue_credential(repo: AccountStore, deps: AccountDeps, who: Principal,
                           teacher_id: str) -> Issued:
    teacher = await _teacher(repo, teacher_id)
    existing = await repo.teacher_account(teacher_id, lock=True)
    account_id = existing.account_id if existing else str(uuid4())
    event = domain.issue_teacher_credential(who.role.value, who.school_code,
                                            teacher.school_code, teacher_id, account_id,
                                            existing)
    if teacher.has_left:
        raise Conflict(f"teacher {teacher_id} has left; no credential (已离岗)")
    school = await repo.school(teacher.school_code)
    assert school is not None
    unit = Unit(Level.SCHOOL, school_code=school.code, county_code=school.profile.county_code,
                city_code=school.profile.city_code)
    credential = new_credential()
    hashed = await deps.hasher.hash(normal_credential(credential))
    account = await _append(repo, who, existing, account_id, event, hashed, unit)
    return Issued(account, credential)


def _own(who: Principal) -> str:
    if who.role is not Role.TEACHER or not who.teacher_id or not who.account_id:
        raise Forbidden("these pages are a teacher's own (教师本人): sign in with POST "
                        "/v1/auth/teacher")
    return who.teacher_id


async def own_record(repo: AccountStore, who: Principal) -> OwnRecord:
    teacher = await _teacher(repo, _own(who))
    identity = await repo.identity_of(teacher.teacher_id)
    return OwnRecord(teacher, identity.id_number if identity else None,
                     await repo.confirmed_versions(teacher.teacher_id),
                     await repo.open_flags_of(teacher.teacher_id))


async def _holder(repo: AccountStore, who: Principal) -> Account:
    assert who.account_id is not None
    account = await repo.account(who.account_id, lock=True)
    if account is None or account.teacher_id != who.teacher_id:
        raise Forbidden("this token does not belong to this teacher's account")
    return account


async def confirm(repo: AccountStore, who: Principal, record_version: int) -> bool:
    """True when this confirmation was recorded now, False when it was recorded before."""
    teacher = await _teacher(repo, _own(who), lock=True)
    holder = await _holder(repo, who)
    event = rules.confirm(holder.account_id, teacher, record_version,
                          await repo.confirmed_versions(teacher.teacher_id))
    if event is None:
        return False
    await _append(repo, who, holder, holder.account_id, event)
    await repo.save_confirmation(teacher.teacher_id, record_version, holder.account_id)
    return True


async def flag_field(repo: AccountStore, deps: AccountDeps, who: Principal, field: str,
                     comment: str) -> Flag:
    teacher = await _teacher(repo, _own(who))
    holder = await _holder(repo, who)
    flag_id = str(uuid4())
    event = rules.flag(holder.account_id, flag_id, teacher, field, comment)
    await _append(repo, who, holder, holder.account_id, event)
    flag = Flag(flag_id=flag_id, teacher_id=teacher.teacher_id, school_code=teacher.school_code,
                account_id=holder.account_id, field=field, comment=comment.strip()[:500],
                record_version=teacher.version, created_at=deps.clock())
    await repo.save_flag(flag)
    return flag


async def school_flags(repo: AccountStore, who: Principal, school_code: str, *,
                       open_only: bool, limit: int) -> list[Flag]:
    school = await repo.school(school_code)
    if school is None:
        raise NotFound(f"no school {school_code} in the registry")
    who.require(region_of(school))
    return await repo.flags(school_code, open_only=open_only, limit=limit)


async def resolve_flag(repo: AccountStore, who: Principal, school_code: str, flag_id: str,
                       note: str) -> Flag:
    school = await repo.school(school_code)
    flag = await repo.flag(flag_id, lock=True)
    if school is None or flag is None or flag.school_code != school_code:
        raise NotFound(f"no flag {flag_id} at school {school_code}")
    who.require(region_of(school), write=True)
    event = rules.resolve(flag.account_id, flag_id, flag.teacher_id, school_code, flag.is_open,
                          note)
    if event is None:
        return flag
    holder = await repo.account(flag.account_id, lock=True)
    await _append(repo, who, holder, flag.account_id, event)
    await repo.resolve_flag(flag_id, note.strip()[:500])
    resolved = await repo.flag(flag_id)
    assert resolved is not None
    return resolved
