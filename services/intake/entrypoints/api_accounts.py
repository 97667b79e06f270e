"""The HTTP API for sign-in and accounts, under /v1: parse, hand to a handler, answer.

    POST /v1/auth/login                      {username, password} -> short-lived token
    POST /v1/auth/teacher                    {id_number, credential} -> a teacher's token
    POST /v1/accounts                        create (system administrators; bootstrap)
    GET  /v1/accounts                        list, region-scoped (?level=&code=&kind=&username=)
    GET  /v1/accounts/audit                  every account event: who, what, when, target
    GET  /v1/accounts/{id}
    POST /v1/accounts/{id}/disable | enable | reset-password | handover
    GET  /v1/me                              the caller (any token, teachers too)
    GET  /v1/me/pending                      what waits for the caller's role and region
    POST /v1/me/password                     change one's own password

Sign-in is throttled per name at the client's address (`client_address`: the peer, or the
X-Forwarded-For of a trusted proxy such as the web front, as uvicorn's proxy headers handling
rewrites it; FORWARDED_ALLOW_IPS names the trusted ones, 127.0.0.1 by default).

Every account action logs one line (who, what, which account) and is an event on the
account's stream. Request bodies are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from services.intake.adapters.accounts_pg import PgAccounts, accounts_unit_of_work
from services.intake.config import intake_settings
from services.intake.domain.accounts import Account, Kind, Level
from services.intake.entrypoints.deps import ERRORS, runtime
from services.intake.entrypoints.schemas_accounts import (
    AccountCreatedOut,
    AccountIn,
    AccountOut,
    AuditOut,
    HandoverIn,
    HandoverOut,
    LoginIn,
    PasswordChangeIn,
    ResetIn,
    TeacherLoginIn,
    TokenOut,
)
from services.intake.service_layer import accounts, pending, signin
from services.intake.service_layer.account_ports import AccountDeps
from services.intake.service_layer.accounts import CreateAccount
from services.intake.service_layer.common import SHANGHAI
from shared.auth import AnyPrincipal, CurrentPrincipal, Principal, Role, Unauthenticated, mint_token
from shared.errors import TmisError
from shared.logging import get_logger
from shared.paging import INT64_MAX, Offset

log = get_logger(__name__)
router = APIRouter(prefix="/v1", responses=ERRORS, tags=["accounts"])
Limit = Annotated[int, Query(ge=1, le=1000)]


class SignInRefused(TmisError):
    """Refused without checking the password: locked, or too soon after a failure."""

    status_code = 429

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def client_address(request: Request) -> str:
    """Where the sign-in comes from, for the throttle (services/intake/domain/signin.py)."""
    return request.client.host if request.client else "unknown"


def deps_of(request: Request) -> AccountDeps:
    deps: AccountDeps = runtime(request).extras["account_deps"]
    return deps


def uow(request: Request) -> Callable[[], AbstractAsyncContextManager[PgAccounts]]:
    rt = runtime(request)
    return lambda: accounts_unit_of_work(rt.pool, rt.store)


def _acted(who: Principal, action: str, account: Account) -> None:
    log.info("account_action", action=action, actor=who.subject, account_id=account.account_id,
             role=account.role, unit=account.unit.describe())


# ------------------------------------------------------------------------------ sign-in


def token_for(request: Request, account: Account) -> TokenOut:
    ttl = intake_settings().signin_token_ttl_seconds
    unit = account.unit
    teacher = account.kind is Kind.TEACHER
    token = mint_token(
        runtime(request).settings, account.role,
        subject=account.username or f"teacher:{account.teacher_id}",
        school_code=None if teacher else unit.school_code,
        county_code=None if teacher else unit.county_code,
        city_code=None if teacher else unit.city_code, ttl_seconds=ttl,
        account_id=account.account_id, account_version=account.token_version,
        teacher_id=account.teacher_id, display_name=account.display_name or None)
    return TokenOut(token=token, expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
                    account=AccountOut.of(account))


async def answer(request: Request, outcome: signin.SignInOutcome) -> TokenOut:
    """A token, or why not (and how long to wait before trying again)."""
    if outcome.account is not None:
        return token_for(request, outcome.account)
    wait = f"{outcome.wait_seconds:.1f}"
    if outcome.address_locked and outcome.locked_until is not None:
        local = outcome.locked_until.astimezone(SHANGHAI).strftime("%H:%M:%S")
        raise SignInRefused(f"too many failed sign-ins from this address: locked until {local} "
                            f"({outcome.locked_until.isoformat()}) (本地址登录失败次数过多，"
                            "已暂停登录)", "signin_address_locked")
    if outcome.locked_until is not None:
        local = outcome.locked_until.astimezone(SHANGHAI).strftime("%H:%M:%S")
        raise SignInRefused(f"too many failed sign-ins: locked until {local} "
                            f"({outcome.locked_until.isoformat()}) (登录失败次数过多，已锁定)",
                            "signin_locked")
    if outcome.throttled:
        raise SignInRefused(f"too soon after a failed sign-in: try again in {wait} s "
                            f"(请{wait}秒后再试)", "signin_throttled")
    raise Unauthenticated(f"wrong username or password, or the account is disabled; the next "
                          f"attempt is checked after {wait} s (用户名或密码错误，或账号已停用)")


@router.post("/auth/login", response_model=TokenOut, summary="Sign in with username and password",
             responses={429: {"description": "locked, or too soon after a failure"}})
async def login(body: LoginIn, request: Request) -> TokenOut:
    async with uow(request)() as repo:
        outcome = await signin.sign_in(repo, deps_of(request), body.username, body.password,
                                       client_address(request))
    return await answer(request, outcome)


@router.post("/auth/teacher", response_model=TokenOut, tags=["self-service"],
             summary="A teacher signs in with their ID number and the school's credential",
             responses={429: {"description": "locked, or too soon after a failure"}})
async def teacher_login(body: TeacherLoginIn, request: Request) -> TokenOut:
    secret = runtime(request).settings.jwt_secret
    async with uow(request)() as repo:
        outcome = await signin.teacher_sign_in(repo, deps_of(request), body.id_number,
                                               body.credential, secret,
                                               client_address(request))
    return await answer(request, outcome)


# ------------------------------------------------------------------------------ accounts


@router.post("/accounts", status_code=201, response_model=AccountCreatedOut,
             summary="Create an account (system administrators: own unit and the level below)")
async def create_account(body: AccountIn, request: Request,
                         who: CurrentPrincipal) -> AccountCreatedOut:
    cmd = CreateAccount(body.kind, body.level, body.code, body.username,
                        body.display_name or "", body.password)
    async with uow(request)() as repo:
        result = await accounts.create_account(repo, deps_of(request), who, cmd)
    _acted(who, "create", result.account)
    return AccountCreatedOut(**AccountOut.of(result.account).model_dump(),
                             password=result.password)


@router.get("/accounts", response_model=list[AccountOut],
            summary="Accounts of the caller's region, or of a unit inside it")
async def list_accounts(request: Request, who: CurrentPrincipal, level: Level | None = None,
                        code: Annotated[str | None, Query(max_length=32)] = None,
                        kind: Kind | None = None, active: bool | None = None,
                        username: Annotated[str | None, Query(max_length=40)] = None,
                        limit: Limit = 200, offset: Offset = 0
                        ) -> list[AccountOut]:
    async with uow(request)() as repo:
        found = await accounts.list_accounts(repo, who, level=level, code=code, kind=kind,
                                             active=active, limit=limit, offset=offset,
                                             username=username)
    return [AccountOut.of(a) for a in found]


@router.get("/accounts/audit", response_model=list[AuditOut],
            summary="Account events of the region, newest first: who, what, when, target")
async def audit(request: Request, who: CurrentPrincipal, level: Level | None = None,
                code: Annotated[str | None, Query(max_length=32)] = None, limit: Limit = 100,
                before: Annotated[int | None, Query(ge=1, le=INT64_MAX,
                                                    description="position: older than this")
                                  ] = None
                ) -> list[AuditOut]:
    async with uow(request)() as repo:
        rows = await accounts.audit(repo, who, level=level, code=code, limit=limit,
                                    before=before)
    return [AuditOut.of(r) for r in rows]


@router.get("/accounts/{account_id}", response_model=AccountOut)
async def get_account(account_id: UUID, request: Request, who: CurrentPrincipal) -> AccountOut:
    async with uow(request)() as repo:
        return AccountOut.of(await accounts.get_account(repo, who, str(account_id)))


@router.post("/accounts/{account_id}/disable", response_model=AccountOut,
             summary="Disable an account: its tokens are refused from the next request on")
async def disable(account_id: UUID, request: Request, who: CurrentPrincipal) -> AccountOut:
    async with uow(request)() as repo:
        account = await accounts.disable_account(repo, who, str(account_id))
    _acted(who, "disable", account)
    return AccountOut.of(account)


@router.post("/accounts/{account_id}/enable", response_model=AccountOut)
async def enable(account_id: UUID, request: Request, who: CurrentPrincipal) -> AccountOut:
    async with uow(request)() as repo:
        account = await accounts.enable_account(repo, who, str(account_id))
    _acted(who, "enable", account)
    return AccountOut.of(account)


@router.post("/accounts/{account_id}/reset-password", response_model=AccountCreatedOut,
             summary="Set a new password (given, or generated and shown once)")
async def reset_password(account_id: UUID, request: Request, who: CurrentPrincipal,
                         body: ResetIn | None = None) -> AccountCreatedOut:
    async with uow(request)() as repo:
        result = await accounts.reset_password(repo, deps_of(request), who, str(account_id),
                                               body.password if body else None)
    _acted(who, "reset_password", result.account)
    return AccountCreatedOut(**AccountOut.of(result.account).model_dump(),
                             password=result.password)


@router.post("/accounts/{account_id}/handover", response_model=HandoverOut,
             summary="交接: the successor gets the role, the predecessor loses it, at once")
async def handover(account_id: UUID, body: HandoverIn, request: Request,
                   who: CurrentPrincipal) -> HandoverOut:
    async with uow(request)() as repo:
        result = await accounts.handover(
            repo, deps_of(request), who, str(account_id),
            successor_id=str(body.successor_account_id) if body.successor_account_id else None,
            username=body.username, display_name=body.display_name or "",
            password=body.password)
    _acted(who, "handover", result.predecessor)
    _acted(who, "take_over", result.successor)
    return HandoverOut(predecessor=AccountOut.of(result.predecessor),
                       successor=AccountOut.of(result.successor), password=result.password)


# ------------------------------------------------------------------------------ me


@router.get("/me", summary="Who the token is: role, region, account")
async def me(request: Request, who: AnyPrincipal) -> dict[str, Any]:
    account = None
    if who.account_id:
        async with uow(request)() as repo:
            found = await repo.account(who.account_id)
        account = AccountOut.of(found).model_dump(mode="json") if found else None
    return {"subject": who.subject, "role": who.role.value, "school_code": who.school_code,
            "county_code": who.county_code, "city_code": who.city_code,
            "teacher_id": who.teacher_id, "account": account}


@router.get("/me/pending", summary="What waits for the caller: review queue, records to fix, "
                                   "unsigned confirmation tables, teachers' flags")
async def me_pending(request: Request, who: CurrentPrincipal) -> dict[str, Any]:
    peers = runtime(request).extras["peers"]
    return await pending.pending(uow(request), peers, who, deps_of(request).clock())


@router.post("/me/password", response_model=AccountOut, summary="Change one's own password")
async def change_password(body: PasswordChangeIn, request: Request,
                          who: CurrentPrincipal) -> AccountOut:
    if who.role is Role.SERVICE:
        raise Unauthenticated("service tokens have no password")
    async with uow(request)() as repo:
        account = await accounts.change_own_password(repo, deps_of(request), who,
                                                     body.current_password, body.new_password)
    _acted(who, "change_own_password", account)
    return AccountOut.of(account)
