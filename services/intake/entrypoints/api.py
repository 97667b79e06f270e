"""The HTTP API for schools and teachers, under /v1: parse, hand to a handler, answer.

Every route needs a bearer token (401 without one). POST and PATCH accept an Idempotency-Key
header: a retry with the same key and body gets the first answer and appends nothing.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, Response

from services.intake.domain.commands import (
    ChangeSchool,
    RecordDeparture,
    RegisterSchool,
    RegisterTeacher,
    ReturnTeacherToPost,
    TransferTeacher,
    UpdateTeacher,
)
from services.intake.domain.school import profile_from
from services.intake.domain.search import parse_query
from services.intake.entrypoints.deps import ERRORS, command, grouped, transaction
from services.intake.entrypoints.schemas import (
    DIVISION_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    SCHOOL_CODE_PATTERN,
    LeaveIn,
    ReturnIn,
    SchoolIn,
    SchoolOut,
    SchoolPatch,
    TeacherAccepted,
    TeacherHitOut,
    TeacherIn,
    TeacherOut,
    TeacherPatch,
    TransferIn,
)
from services.intake.service_layer import schools, search, teachers
from services.intake.service_layer.ports import Registry, StoredResponse
from services.intake.service_layer.registrations import Submission
from services.intake.service_layer.teachers import TeacherResult
from shared.auth import CurrentPrincipal
from shared.paging import Offset

router = APIRouter(prefix="/v1", responses=ERRORS)

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
    description="retry-safe POST/PATCH: the same key and body return the first answer")]
Code = Annotated[str, Path(pattern=SCHOOL_CODE_PATTERN, description="school code")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _accepted(result: TeacherResult, status: int = 200) -> StoredResponse:
    body = TeacherAccepted.of(result.teacher, result.changed_fields).model_dump(mode="json")
    return StoredResponse(status, body)


def _registered(result: TeacherResult) -> StoredResponse:
    return _accepted(result, 201)


# ------------------------------------------------------------------------------ schools


@router.post("/schools", status_code=201, response_model=SchoolOut, tags=["schools"],
             summary="Register a school (county, city, province administrators)")
async def register_school(body: SchoolIn, request: Request, who: CurrentPrincipal,
                          key: IdempotencyKey = None) -> Response:
    profile = profile_from(body.model_dump(exclude={"code", "occurred_at"}))
    cmd = RegisterSchool(body.code, profile, body.occurred_at)

    async def run(repo: Registry) -> StoredResponse:
        result = await schools.register_school(repo, who, cmd)
        return StoredResponse(201, SchoolOut.of(result.school).model_dump(mode="json"))

    return await command(request, who, key, body.model_dump(mode="json"), run)


@router.patch("/schools/{code}", response_model=SchoolOut, tags=["schools"],
              summary="Change a school's profile, or close it (open: false)")
async def change_school(code: Code, body: SchoolPatch, request: Request, who: CurrentPrincipal,
                        key: IdempotencyKey = None) -> Response:
    cmd = ChangeSchool(code, body.expected_version, body.changes(), close=body.open is False,
                       occurred_at=body.occurred_at)

    async def run(repo: Registry) -> StoredResponse:
        result = await schools.change_school(repo, who, cmd)
        return StoredResponse(200, SchoolOut.of(result.school, result.changed_fields)
                              .model_dump(mode="json"))

    return await command(request, who, key, body.model_dump(mode="json"), run)


@router.get("/schools/{code}", response_model=SchoolOut, tags=["schools"])
async def get_school(code: Code, request: Request, who: CurrentPrincipal) -> SchoolOut:
    school = await transaction(request, lambda repo: schools.get_school(repo, who, code))
    return SchoolOut.of(school)


@router.get("/schools", response_model=list[SchoolOut], tags=["schools"],
            summary="Schools of a county or city (default: the caller's region)")
async def list_schools(request: Request, who: CurrentPrincipal,
                       county: Annotated[str | None, Query(pattern=DIVISION_PATTERN)] = None,
                       city: Annotated[str | None, Query(pattern=DIVISION_PATTERN)] = None,
                       limit: Limit = 100, offset: Offset = 0) -> list[SchoolOut]:
    found = await transaction(request, lambda repo: schools.list_schools(
        repo, who, county_code=county, city_code=city, limit=limit, offset=offset))
    return [SchoolOut.of(s) for s in found]


# ------------------------------------------------------------------------------ teachers


@router.post("/teachers", status_code=201, response_model=TeacherAccepted, tags=["teachers"],
             summary="Register a teacher at a school")
async def register_teacher(body: TeacherIn, request: Request, who: CurrentPrincipal,
                           key: IdempotencyKey = None) -> Response:
    cmd = RegisterTeacher(body.school_code, body.record.person(), body.occurred_at)
    submission = Submission(who, cmd, key, fingerprint_body=body.model_dump(mode="json"))
    return await grouped(request, submission, _registered)


@router.get("/teachers", response_model=list[TeacherOut], tags=["teachers"],
            summary="The current teachers of a school (not those who left)")
async def list_teachers(request: Request, who: CurrentPrincipal,
                        school_code: Annotated[str, Query(pattern=SCHOOL_CODE_PATTERN)],
                        limit: Limit = 100, offset: Offset = 0) -> list[TeacherOut]:
    found = await transaction(request, lambda repo: teachers.list_teachers(
        repo, who, school_code, limit=limit, offset=offset))
    return [TeacherOut.of(t) for t in found]


@router.get("/teachers/search", response_model=list[TeacherHitOut], tags=["teachers"],
            summary="Find teachers: by ID number province-wide, by a name prefix in one's region")
async def search_teachers(
        request: Request, who: CurrentPrincipal,
        q: Annotated[str | None, Query(max_length=64, description=(
            "an 18-character ID number, or the start of a name"))] = None,
        school_code: Annotated[str | None, Query(pattern=SCHOOL_CODE_PATTERN)] = None,
        include_left: bool = False, limit: Limit = 50, offset: Offset = 0) -> list[TeacherHitOut]:
    query = parse_query(q, school_code=school_code, include_left=include_left)
    found = await transaction(request, lambda repo: search.search_teachers(
        repo, who, query, limit=limit, offset=offset))
    return [TeacherHitOut.of(f) for f in found]


@router.get("/teachers/{teacher_id}", response_model=TeacherOut, tags=["teachers"])
async def get_teacher(teacher_id: UUID, request: Request, who: CurrentPrincipal) -> TeacherOut:
    view = await transaction(request, lambda repo: teachers.get_teacher(repo, who, str(teacher_id)))
    return TeacherOut.of(view.teacher, view.id_number)


@router.patch("/teachers/{teacher_id}", response_model=TeacherAccepted, tags=["teachers"],
              summary="Change fields of a teacher's record (expected_version required)")
async def update_teacher(teacher_id: UUID, body: TeacherPatch, request: Request,
                         who: CurrentPrincipal, key: IdempotencyKey = None) -> Response:
    cmd = UpdateTeacher(str(teacher_id), body.expected_version, body.record.changes(),
                        body.occurred_at)

    async def run(repo: Registry) -> StoredResponse:
        return _accepted(await teachers.update_teacher(repo, who, cmd))

    return await command(request, who, key, body.model_dump(mode="json"), run)


@router.post("/teachers/{teacher_id}/transfer", response_model=TeacherAccepted,
             tags=["teachers"], summary="省内调动: entered by the receiving school or a bureau "
                                         "covering it, with an uploaded proof document")
async def transfer_teacher(teacher_id: UUID, body: TransferIn, request: Request,
                           who: CurrentPrincipal, key: IdempotencyKey = None) -> Response:
    cmd = TransferTeacher(str(teacher_id), body.to_school_code, body.proof_sha256,
                          body.expected_version, body.occurred_at)

    async def run(repo: Registry) -> StoredResponse:
        return _accepted(await teachers.transfer_teacher(repo, who, cmd))

    return await command(request, who, key, body.model_dump(mode="json"), run)


@router.post("/teachers/{teacher_id}/return-to-post", response_model=TeacherAccepted,
             tags=["teachers"], summary="返岗: back in post at a school, with a proof document")
async def return_to_post(teacher_id: UUID, body: ReturnIn, request: Request,
                         who: CurrentPrincipal, key: IdempotencyKey = None) -> Response:
    cmd = ReturnTeacherToPost(str(teacher_id), body.school_code, body.proof_sha256,
                              body.expected_version, body.occurred_at)

    async def run(repo: Registry) -> StoredResponse:
        return _accepted(await teachers.return_to_post(repo, who, cmd))

    return await command(request, who, key, body.model_dump(mode="json"), run)


@router.post("/teachers/{teacher_id}/leave", response_model=TeacherAccepted, tags=["teachers"],
             summary="The teacher left: retired, resigned, died, moved out of the province")
async def leave(teacher_id: UUID, body: LeaveIn, request: Request, who: CurrentPrincipal,
                key: IdempotencyKey = None) -> Response:
    cmd = RecordDeparture(str(teacher_id), body.reason, body.expected_version, body.occurred_at,
                          body.note, body.proof_sha256)

    async def run(repo: Registry) -> StoredResponse:
        return _accepted(await teachers.record_departure(repo, who, cmd))

    return await command(request, who, key, body.model_dump(mode="json"), run)

