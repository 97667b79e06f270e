"""Account events: who may sign in, as what, where; handovers; teachers' self-service.

Emitted by intake (which keeps the accounts) on streams `account-<account_id>`, category
"account", topic tmis.intake.account.v1 (internal: no agency reads it). Every service follows
the topic to keep `account_status` (shared/accounts.py): the gate that refuses a disabled
account's token on its next request.

Never in these payloads: a password, a password hash, a credential, a national ID number. A
teacher is the opaque teacher_id; a teacher's free-text comment is carried with anything that
looks like an ID number masked (the full comment stays in intake's private store).

`token_version` is the account's sign-in generation after the event: a token carries the
generation it was issued under (claim `av`) and is accepted only while the account is active
and still at that generation. Disabling, enabling, resetting a password, a handover and
re-issuing a teacher's credential each start a new generation, so earlier tokens stop working.

    account lifecycle                     self-service (teacher accounts)
    AccountCreated                        TeacherCredentialIssued
    AccountDisabled / AccountEnabled      TeacherRecordConfirmed
    AccountPasswordReset                  TeacherFieldFlagged
    AdministratorHandedOver (predecessor) TeacherFlagResolved (by the school)
    AccountRoleGranted (successor)
    SignInLocked / SignInUnlocked
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.contracts.base import EventPayload, register

AccountId = str
Username = str
USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{2,39}$"


class AccountKind(StrEnum):
    """The national system's three kinds of account per level, and the teachers'."""

    SYSTEM = "system"  # 系统管理员: manages accounts of its level and the level below
    INFO = "info"  # 信息管理员: enters, reviews and reports for its level and below
    QUERY = "query"  # 查询账号: reads only
    TEACHER = "teacher"  # 教师: reads and confirms its own record


class AccountLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    SCHOOL = "school"


class _AccountEvent(EventPayload):
    category = "account"

    account_id: AccountId


class _Where(_AccountEvent):
    """An account's role and region: the codes of its level and of every level above it."""

    kind: AccountKind
    level: AccountLevel
    role: str = Field(description="the shared.auth role tokens of this account carry")
    school_code: str | None = None
    county_code: str | None = Field(None, pattern=r"^\d{6}$")
    city_code: str | None = Field(None, pattern=r"^\d{6}$")


@register
class AccountCreated(_Where):
    event_type = "AccountCreated"
    description = "An administrator or query account was created, active."

    username: Username = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field("", max_length=50)
    token_version: int = Field(1, ge=1)


@register
class AccountDisabled(_AccountEvent):
    event_type = "AccountDisabled"
    description = "An account was disabled: its tokens are refused from the next request on."

    reason: Literal["disabled", "handover"] = "disabled"
    token_version: int = Field(ge=1)


@register
class AccountEnabled(_AccountEvent):
    event_type = "AccountEnabled"
    description = "A disabled account was enabled again (it signs in anew)."

    token_version: int = Field(ge=1)


@register
class AccountPasswordReset(_AccountEvent):
    event_type = "AccountPasswordReset"
    description = ("An account's password was reset by its manager or changed by its holder; "
                   "tokens issued before are refused.")

    by_holder: bool = Field(False, description="the holder changed it (else: a manager)")
    token_version: int = Field(ge=1)


@register
class AdministratorHandedOver(_Where):
    event_type = "AdministratorHandedOver"
    description = ("交接: the account (the predecessor) handed its role to the successor and is "
                   "disabled, in the same transaction in which the successor got the role.")

    successor_account_id: AccountId
    successor_created: bool = Field(description="the successor account was created for it")
    token_version: int = Field(ge=1, description="the predecessor's, after the handover")


@register
class AccountRoleGranted(_Where):
    event_type = "AccountRoleGranted"
    description = "An existing account took over a role (a handover's successor); active."

    predecessor_account_id: AccountId | None = None
    token_version: int = Field(ge=1)


@register
class SignInLocked(_AccountEvent):
    event_type = "SignInLocked"
    description = "Repeated failed sign-ins: the account's sign-in is locked until `until`."

    failures: int = Field(ge=1)
    until: datetime


@register
class SignInUnlocked(_AccountEvent):
    event_type = "SignInUnlocked"
    description = "A sign-in lock expired (recorded at the next sign-in attempt)."


@register
class TeacherCredentialIssued(_AccountEvent):
    event_type = "TeacherCredentialIssued"
    description = ("A school issued a teacher a sign-in credential (a new one replaces the "
                   "old, whose tokens are refused).")

    teacher_id: str
    school_code: str
    token_version: int = Field(ge=1)


@register
class TeacherRecordConfirmed(_AccountEvent):
    event_type = "TeacherRecordConfirmed"
    description = "The teacher confirmed that a version of their record is right (本人确认)."

    teacher_id: str
    school_code: str
    record_version: int = Field(ge=1, description="the teacher stream version confirmed")


@register
class TeacherFieldFlagged(_AccountEvent):
    event_type = "TeacherFieldFlagged"
    description = "The teacher flagged a field of their record as wrong, with a comment."

    flag_id: str
    teacher_id: str
    school_code: str
    field: str
    record_version: int = Field(ge=1)
    comment: str = Field(max_length=500, description="ID-number-like text masked")


@register
class TeacherFlagResolved(_AccountEvent):
    event_type = "TeacherFlagResolved"
    description = "The school answered a teacher's flag (fixed the record, or explained)."

    flag_id: str
    teacher_id: str
    school_code: str
    note: str = Field("", max_length=500)
