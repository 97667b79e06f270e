"""Accounts: the three kinds per level and region, who manages whom, and handovers.

The national system gives every level (province, city, county, school) three kinds of account:
a system administrator (系统管理员), an information administrator (信息管理员) and a query
account (查询账号); teachers get their own sign-in for self-service. Their roles are the
shared.auth roles:

    kind \\ level   province            city            county            school
    system          province_sysadmin   city_sysadmin   county_sysadmin   school_sysadmin
    info            province_admin      city_admin      county_admin      school_admin
    query           query (no region)   query (city)    query (county)    query (school)
    teacher                                                               teacher

Who manages whom: a system administrator manages every account of its own unit (its own
province, city, county or school) and every account of the units directly below it inside its
region: the province its province accounts and the cities' accounts, a county its county's
accounts and those of its schools, never a county of another city nor a school two levels
down. Nobody disables their own account (they hand it over instead). Decisions return events
or raise; the service layer loads, appends and saves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.contracts.base import EventPayload
from shared.contracts.events_accounts import (
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    AccountKind,
    AccountLevel,
    AccountPasswordReset,
    AccountRoleGranted,
    AdministratorHandedOver,
    TeacherCredentialIssued,
)
from shared.errors import Conflict, Forbidden, Problem, ValidationProblem

Kind = AccountKind
Level = AccountLevel

CHILD: dict[Level, Level | None] = {Level.PROVINCE: Level.CITY, Level.CITY: Level.COUNTY,
                                    Level.COUNTY: Level.SCHOOL, Level.SCHOOL: None}
_ROLE_PREFIX = {Level.PROVINCE: "province", Level.CITY: "city", Level.COUNTY: "county",
                Level.SCHOOL: "school"}
LABELS = {Kind.SYSTEM: "系统管理员", Kind.INFO: "信息管理员", Kind.QUERY: "查询账号",
          Kind.TEACHER: "教师", Level.PROVINCE: "省级", Level.CITY: "市级", Level.COUNTY: "县级",
          Level.SCHOOL: "校级"}
MIN_PASSWORD = 10


def role_for(kind: Kind, level: Level) -> str:
    """The shared.auth role value tokens of such an account carry."""
    if kind is Kind.QUERY:
        return "query"
    if kind is Kind.TEACHER:
        return "teacher"
    return f"{_ROLE_PREFIX[level]}_{'sysadmin' if kind is Kind.SYSTEM else 'admin'}"


@dataclass(frozen=True)
class Unit:
    """A place at a level, with the codes of every level above it (a school's county and
    city ride along, as in tokens)."""

    level: Level
    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None

    @property
    def code(self) -> str | None:
        return {Level.SCHOOL: self.school_code, Level.COUNTY: self.county_code,
                Level.CITY: self.city_code, Level.PROVINCE: None}[self.level]

    def is_same(self, other: Unit) -> bool:
        return self.level is other.level and self.code == other.code

    def contains(self, other: Unit) -> bool:
        """`other` is this unit or lies below it."""
        order = list(CHILD)
        if order.index(other.level) < order.index(self.level):
            return False
        match self.level:
            case Level.PROVINCE:
                return True
            case Level.CITY:
                return other.city_code == self.city_code
            case Level.COUNTY:
                return other.county_code == self.county_code
            case Level.SCHOOL:
                return other.school_code == self.school_code
        return False

    def describe(self) -> str:
        return f"{self.level.value} {self.code}" if self.code else "the province"


@dataclass(frozen=True)
class Account:
    """An account as it stands (intake's accounts table; stream account-<account_id>)."""

    account_id: str
    username: str | None
    kind: Kind
    unit: Unit
    active: bool
    token_version: int
    version: int
    display_name: str = ""
    teacher_id: str | None = None

    @property
    def role(self) -> str:
        return role_for(self.kind, self.unit.level)

    @property
    def stream_id(self) -> str:
        return stream_id(self.account_id)

    def label(self) -> str:
        return f"{self.username or self.teacher_id} ({self.role} of {self.unit.describe()})"


def stream_id(account_id: str) -> str:
    return f"account-{account_id}"


@dataclass(frozen=True)
class Manager:
    """Who asks for an account action: the token's role, unit and account."""

    role: str
    unit: Unit
    account_id: str | None = None

    @property
    def is_sysadmin(self) -> bool:
        return self.role.endswith("_sysadmin")


def manages(manager: Manager, target: Unit) -> bool:
    """May this manager create, disable, enable, reset or hand over accounts of `target`?"""
    if not manager.is_sysadmin:
        return False
    if target.is_same(manager.unit):
        return True
    return CHILD[manager.unit.level] is target.level and manager.unit.contains(target)


def require_manages(manager: Manager, target: Unit, action: str) -> None:
    if not manages(manager, target):
        what = ("only system administrators manage accounts" if not manager.is_sysadmin else
                "a system administrator manages its own unit and the level directly below")
        raise Forbidden(f"{manager.role} of {manager.unit.describe()} may not {action} accounts "
                        f"of {target.describe()}: {what} (无权管理该账号)")


def check_password(password: str, loc: str = "password") -> None:
    if len(password) < MIN_PASSWORD or password.isdigit() or password.isalpha():
        raise ValidationProblem([Problem(
            loc, f"at least {MIN_PASSWORD} characters, not only digits or only letters "
                 "(密码至少10位，须含字母和数字)")])


# --------------------------------------------------------------------------- decisions


def create_account(manager: Manager, account_id: str, username: str, kind: Kind, unit: Unit,
                   display_name: str, *, username_taken: bool) -> AccountCreated:
    if kind is Kind.TEACHER:
        raise ValidationProblem([Problem("kind", "teacher accounts are issued by their school: "
                                                 "POST /v1/teachers/{id}/credential")])
    require_manages(manager, unit, "create")
    if username_taken:
        raise Conflict(f"the username {username} is taken (用户名已存在)")
    return AccountCreated(account_id=account_id, username=username, kind=kind, level=unit.level,
                          role=role_for(kind, unit.level), school_code=unit.school_code,
                          county_code=unit.county_code, city_code=unit.city_code,
                          display_name=display_name, token_version=1)


def disable(manager: Manager, target: Account) -> AccountDisabled | None:
    require_manages(manager, target.unit, "disable")
    if manager.account_id == target.account_id:
        raise Forbidden("an administrator does not disable their own account; hand it over to "
                        "the successor (POST /v1/accounts/{id}/handover) (请办理交接)")
    if not target.active:
        return None
    return AccountDisabled(account_id=target.account_id, reason="disabled",
                           token_version=target.token_version + 1)


def enable(manager: Manager, target: Account) -> AccountEnabled | None:
    require_manages(manager, target.unit, "enable")
    if target.active:
        return None
    return AccountEnabled(account_id=target.account_id, token_version=target.token_version + 1)


def reset_password(manager: Manager, target: Account) -> AccountPasswordReset:
    require_manages(manager, target.unit, "reset the password of")
    if target.kind is Kind.TEACHER:
        raise ValidationProblem([Problem("account_id", "a teacher gets a new credential from "
                                                       "the school instead")])
    return AccountPasswordReset(account_id=target.account_id, by_holder=False,
                                token_version=target.token_version + 1)


def change_own_password(holder: Account) -> AccountPasswordReset:
    return AccountPasswordReset(account_id=holder.account_id, by_holder=True,
                                token_version=holder.token_version + 1)


@dataclass(frozen=True)
class NewSuccessor:
    account_id: str
    username: str
    display_name: str
    username_taken: bool


@dataclass(frozen=True)
class Handover:
    """What one handover appends: the predecessor's events and the successor's."""

    predecessor: list[EventPayload]
    successor: list[EventPayload]
    successor_id: str
    successor_created: bool


def handover(manager: Manager, predecessor: Account,
             successor: Account | NewSuccessor) -> Handover:
    """交接: the successor gets the predecessor's role and region, the predecessor loses it;
    both in one append. Whoever manages the predecessor's unit does it: the unit's own system
    administrator (handing over itself included) or the one of the level above."""
    require_manages(manager, predecessor.unit, "hand over")
    if predecessor.kind is Kind.TEACHER:
        raise ValidationProblem([Problem("account_id", "teacher accounts are not handed over")])
    if not predecessor.active:
        raise Conflict(f"account {predecessor.label()} is disabled: there is nothing to hand "
                       "over; create the new administrator's account instead")
    where = {"kind": predecessor.kind, "level": predecessor.unit.level, "role": predecessor.role,
             "school_code": predecessor.unit.school_code,
             "county_code": predecessor.unit.county_code,
             "city_code": predecessor.unit.city_code}
    after: list[EventPayload]
    if isinstance(successor, NewSuccessor):
        if successor.username_taken:
            raise Conflict(f"the username {successor.username} is taken (用户名已存在)")
        after = [AccountCreated(account_id=successor.account_id, username=successor.username,
                                display_name=successor.display_name, token_version=1, **where)]
        successor_id, created = successor.account_id, True
    else:
        if successor.account_id == predecessor.account_id:
            raise ValidationProblem([Problem("successor_account_id",
                                             "the successor is another account")])
        if successor.kind is Kind.TEACHER or not successor.unit.is_same(predecessor.unit):
            raise ValidationProblem([Problem(
                "successor_account_id", f"the successor must be an account of the same unit "
                                        f"({predecessor.unit.describe()}), not a teacher's")])
        after = [AccountRoleGranted(account_id=successor.account_id,
                                    predecessor_account_id=predecessor.account_id,
                                    token_version=successor.token_version + 1, **where)]
        successor_id, created = successor.account_id, False
    before: list[EventPayload] = [AdministratorHandedOver(
        account_id=predecessor.account_id, successor_account_id=successor_id,
        successor_created=created, token_version=predecessor.token_version + 1, **where)]
    return Handover(before, after, successor_id, created)


def issue_teacher_credential(role: str, school_code: str | None, teacher_school: str,
                             teacher_id: str, account_id: str,
                             existing: Account | None) -> TeacherCredentialIssued:
    """The teacher's school (its information or system administrator) issues the credential;
    a new one replaces the old (whose tokens stop working)."""
    if role not in ("school_admin", "school_sysadmin") or school_code != teacher_school:
        raise Forbidden(f"only the administrators of school {teacher_school} issue its "
                        "teachers' credentials (由教师所在学校发放)")
    version = existing.token_version + 1 if existing is not None else 1
    return TeacherCredentialIssued(account_id=account_id, teacher_id=teacher_id,
                                   school_code=teacher_school, token_version=version)


# --------------------------------------------------------------------------- evolve


def evolve(account: Account | None, event: EventPayload, stream_version: int) -> Account:
    """Fold one account event into the account's state."""
    match event:
        case AccountCreated():
            return Account(account_id=event.account_id, username=event.username,
                           kind=event.kind, unit=_unit(event), active=True,
                           token_version=event.token_version, version=stream_version,
                           display_name=event.display_name)
        case TeacherCredentialIssued():
            if account is None:
                return Account(account_id=event.account_id, username=None, kind=Kind.TEACHER,
                               unit=Unit(Level.SCHOOL, school_code=event.school_code),
                               active=True, token_version=event.token_version,
                               version=stream_version, teacher_id=event.teacher_id)
            return replace(account, active=True, token_version=event.token_version,
                           version=stream_version,
                           unit=replace(account.unit, school_code=event.school_code))
    assert account is not None, f"{event.event_type} before the account exists"
    match event:
        case AccountDisabled() | AdministratorHandedOver():
            return replace(account, active=False, token_version=event.token_version,
                           version=stream_version)
        case AccountEnabled():
            return replace(account, active=True, token_version=event.token_version,
                           version=stream_version)
        case AccountPasswordReset():
            return replace(account, token_version=event.token_version, version=stream_version)
        case AccountRoleGranted():
            return replace(account, kind=event.kind, unit=_unit(event), active=True,
                           token_version=event.token_version, version=stream_version)
    return replace(account, version=stream_version)


def _unit(event: AccountCreated | AccountRoleGranted) -> Unit:
    return Unit(event.level, school_code=event.school_code, county_code=event.county_code,
                city_code=event.city_code)
