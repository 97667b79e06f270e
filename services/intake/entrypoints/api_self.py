"""The HTTP API of teachers' self-service and the school's side of it, under /v1.

    POST /v1/teachers/{id}/credential          the school issues a credential (shown once)
    GET  /v1/me/record                         the teacher's own record (teacher tokens only)
    GET  /v1/me/confirmation.pdf               their own confirmation table, full ID number
    POST /v1/me/confirm                        {record_version}: "my record is right"
    POST /v1/me/flags                          {field, comment}: "this field is wrong"
    GET  /v1/schools/{code}/flags              the school's teachers' flags (?open=true)
    POST /v1/schools/{code}/flags/{id}/resolve {note}

A teacher's token is refused by every other route (shared.auth.current_principal), and these
/v1/me routes read the teacher the token names, so a teacher can never read another's record.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from services.intake.entrypoints.api_accounts import deps_of, uow
from services.intake.entrypoints.deps import ERRORS
from services.intake.entrypoints.schemas import SCHOOL_CODE_PATTERN
from services.intake.entrypoints.schemas_accounts import (
    ConfirmIn,
    CredentialOut,
    FlagIn,
    FlagOut,
    OwnRecordOut,
    ResolveIn,
)
from services.intake.service_layer import self_service
from shared.auth import AnyPrincipal, CurrentPrincipal
from shared.confirmation_form import OWN_FIELDS, confirmation_pdf
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/v1", responses=ERRORS, tags=["self-service"])
Code = Annotated[str, Path(pattern=SCHOOL_CODE_PATTERN, description="school code")]


@router.post("/teachers/{teacher_id}/credential", status_code=201, response_model=CredentialOut,
             summary="Issue a teacher's sign-in credential (the teacher's school; shown once)")
async def issue_credential(teacher_id: UUID, request: Request,
                           who: CurrentPrincipal) -> CredentialOut:
    async with uow(request)() as repo:
        issued = await self_service.issue_credential(repo, deps_of(request), who,
                                                     str(teacher_id))
    log.info("account_action", action="issue_teacher_credential", actor=who.subject,
             account_id=issued.account.account_id, teacher_id=str(teacher_id))
    return CredentialOut(teacher_id=str(teacher_id), account_id=issued.account.account_id,
                         credential=issued.credential)


@router.get("/me/record", response_model=OwnRecordOut,
            summary="The signed-in teacher's own record, and what they confirmed or flagged")
async def own_record(request: Request, who: AnyPrincipal) -> OwnRecordOut:
    async with uow(request)() as repo:
        mine = await self_service.own_record(repo, who)
    return OwnRecordOut.of(mine.teacher, mine.id_number, mine.confirmed_versions,
                           mine.open_flags)


@router.get("/me/confirmation.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}},
            summary="The signed-in teacher's own confirmation table (教师信息确认表), with their "
                    "full ID number to check, to sign and hand to the school")
async def own_confirmation_form(request: Request, who: AnyPrincipal) -> Response:
    async with uow(request)() as repo:
        mine = await self_service.own_record(repo, who)
        school = await repo.school(mine.teacher.school_code)
    record = {**mine.teacher.record.model_dump(mode="json"), "id_number": mine.id_number or ""}
    pdf = confirmation_pdf(
        {"name": school.profile.name if school else mine.teacher.school_code,
         "school_code": mine.teacher.school_code}, [{"record": record}], date.today(),
        OWN_FIELDS)
    # The full ID number is in it: never cached by a browser or a proxy.
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="confirmation.pdf"',
        "Cache-Control": "no-store"})


@router.post("/me/confirm", summary="Confirm that this version of one's record is right")
async def confirm(body: ConfirmIn, request: Request, who: AnyPrincipal) -> dict[str, Any]:
    async with uow(request)() as repo:
        recorded = await self_service.confirm(repo, who, body.record_version)
    log.info("teacher_confirmed", teacher_id=who.teacher_id, record_version=body.record_version,
             new=recorded)
    return {"teacher_id": who.teacher_id, "record_version": body.record_version,
            "confirmed": True, "recorded_now": recorded}


@router.post("/me/flags", status_code=201, response_model=FlagOut,
             summary="Flag a field of one's record as wrong, with a comment for the school")
async def flag(body: FlagIn, request: Request, who: AnyPrincipal) -> FlagOut:
    async with uow(request)() as repo:
        flagged = await self_service.flag_field(repo, deps_of(request), who, body.field,
                                                body.comment)
    log.info("teacher_flagged", teacher_id=who.teacher_id, field=body.field,
             flag_id=flagged.flag_id)
    return FlagOut.of(flagged)


@router.get("/schools/{code}/flags", response_model=list[FlagOut],
            summary="Teachers' flags on their records at a school (open ones by default)")
async def school_flags(code: Code, request: Request, who: CurrentPrincipal,
                       open: bool = True,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[FlagOut]:
    async with uow(request)() as repo:
        found = await self_service.school_flags(repo, who, code, open_only=open, limit=limit)
    return [FlagOut.of(f) for f in found]


@router.post("/schools/{code}/flags/{flag_id}/resolve", response_model=FlagOut,
             summary="Answer a teacher's flag (after fixing the record, or with a reason)")
async def resolve(code: Code, flag_id: UUID, request: Request, who: CurrentPrincipal,
                  body: ResolveIn | None = None) -> FlagOut:
    async with uow(request)() as repo:
        resolved = await self_service.resolve_flag(repo, who, code, str(flag_id),
                                                   body.note if body else "")
    log.info("teacher_flag_resolved", actor=who.subject, flag_id=str(flag_id))
    return FlagOut.of(resolved)
