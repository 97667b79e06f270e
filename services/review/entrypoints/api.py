"""The review HTTP API (under /v1): parse -> handle.

    GET  /v1/queue                       a reviewer's queue, oldest first, paged
    GET  /v1/teachers/{id}               record, checks, diff since last approval, proof link
    GET  /v1/teachers/{id}/history       every decision: who, when, what
    POST /v1/teachers/{id}/decisions     approve or reject one record version
    POST /v1/decisions                   approve or reject many: one result per item, one
                                         transaction per chunk of the batch
    POST /v1/spot-checks                 draw a seeded random sample (county)
    GET  /v1/spot-checks?county_code=    a county's samples
    GET  /v1/spot-checks/{id}            one sample, redrawn to prove it

Both decision endpoints take an optional `occurred_at` (business time, with an offset) from
service and province accounts; the list form of POST /v1/decisions has no room for it: use
`{"decisions": [...], "occurred_at": ...}`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.review.adapters.queries import QueueFilter, ReviewQueries
from services.review.adapters.unit_of_work import PgReviewUnitOfWork
from services.review.config import ReviewConfig, review_config
from services.review.domain.decisions import DecideRecord, ResubmitRecord
from services.review.domain.model import Kind, Status
from services.review.domain.spotcheck import DrawSpotCheck, RecordSpotCheckResult
from services.review.service_layer import handlers, views
from services.review.service_layer.handlers import BatchOutcome, Decided
from services.review.service_layer.ports import UnitOfWorkFactory
from shared.auth import CurrentPrincipal
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import Problem, ValidationProblem
from shared.paging import Offset
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["review"])
PROVINCE_TZ = ZoneInfo("Asia/Shanghai")

SCHOOL_CODE = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$"
REGION_CODE = r"^\d{6}$"
TEACHER_ID = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$"
TeacherId = Annotated[str, Path(pattern=TEACHER_ID, description="the teacher's opaque id")]
SchoolCode = Annotated[str | None, Query(pattern=SCHOOL_CODE)]
RegionCode = Annotated[str | None, Query(pattern=REGION_CODE)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _plausible_time(value: datetime) -> datetime:
    if not 1900 <= value.year <= 2100:
        raise ValueError("must be between 1900 and 2100")
    if value.tzinfo is None:
        raise ValueError("must carry a time zone offset, e.g. 2017-04-07T09:00:00+08:00")
    return value


BusinessTime = Annotated[datetime, AfterValidator(_plausible_time), Field(
    description="business time of the decision (the events' occurred_at, which 'as of' "
                "reports use); service and province accounts only, others get 403")]


class _Decision(_In):
    record_version: int = Field(ge=1, description="the record version the reviewer read")
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=500, description="required to reject")
    comment: str = Field("", max_length=500)
    level: ReviewLevel | None = Field(None, description="default: the caller's level")

    @field_validator("reason", "comment")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class DecisionBody(_Decision):
    occurred_at: BusinessTime | None = None


class ResubmitBody(_In):
    record_version: int = Field(ge=1, description="the rejected record version")
    note: str = Field(min_length=1, max_length=500,
                      description="to the reviewer: why the record is right as it is")

    @field_validator("note")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class DecisionItem(_Decision):
    teacher_id: str = Field(pattern=TEACHER_ID)


class DecisionBatch(_In):
    decisions: list[DecisionItem] = Field(min_length=1)
    occurred_at: BusinessTime | None = Field(None, description="for every decision of the batch")


class SpotCheckBody(_In):
    county_code: str = Field(pattern=REGION_CODE)
    size: int | None = Field(None, ge=1, le=1_000_000)
    percent: float | None = Field(None, gt=0, le=100)
    seed: int | None = Field(None, ge=0, le=handlers.MAX_SEED)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _queries(request: Request) -> ReviewQueries:
    return ReviewQueries(_runtime(request).store.schema)


def _uow(request: Request) -> UnitOfWorkFactory:
    runtime = _runtime(request)
    return lambda: PgReviewUnitOfWork(runtime.pool, runtime.store)


def _config(request: Request) -> ReviewConfig:
    config = _runtime(request).extras.get("review_config")
    return config if isinstance(config, ReviewConfig) else review_config()


def _command(teacher_id: str, body: _Decision) -> DecideRecord:
    return DecideRecord(teacher_id=teacher_id, record_version=body.record_version,
                        approve=body.decision == "approve", reason=body.reason,
                        comment=body.comment, level=body.level)


def _decided(d: Decided) -> dict[str, Any]:
    return {
        "teacher_id": d.teacher_id, "record_version": d.record_version, "level": d.level.value,
        "outcome": "approved" if d.approved else "rejected", "review_status": d.status.value,
        "events": [{"event_id": str(e.event_id), "event_type": e.event_type} for e in d.events],
    }


def _outcome(o: BatchOutcome) -> dict[str, Any]:
    if o.decided is not None:
        return {"status": 200, **_decided(o.decided)}
    assert o.error is not None
    return {"status": o.status_code, "teacher_id": o.teacher_id,
            "record_version": o.record_version, "outcome": o.error.get("error"),
            "error": o.error}


@router.get("/queue", summary="A reviewer's queue, oldest submission first")
async def get_queue(
    request: Request, principal: CurrentPrincipal,
    level: ReviewLevel | None = None, status: Status | None = None,
    school_code: SchoolCode = None, county_code: RegionCode = None,
    city_code: RegionCode = None, kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    f = QueueFilter(school_code=school_code, county_code=county_code, city_code=city_code,
                    kind=kind.value if kind else None, limit=limit, offset=offset)
    async with _runtime(request).pool.acquire() as conn:
        return await views.queue(conn, _queries(request), principal, level, status, f)


@router.get("/teachers/{teacher_id}", summary="A teacher's review state, checks, diff, proof")
async def get_teacher(request: Request, principal: CurrentPrincipal,
                      teacher_id: TeacherId) -> dict[str, Any]:
    async with _runtime(request).pool.acquire() as conn:
        return await views.teacher(conn, _queries(request), principal, teacher_id,
                                   _config(request))


@router.get("/teachers/{teacher_id}/history", summary="Every decision: who, when, what")
async def get_history(request: Request, principal: CurrentPrincipal,
                      teacher_id: TeacherId) -> dict[str, Any]:
    async with _runtime(request).pool.acquire() as conn:
        return await views.history(conn, _queries(request), _runtime(request).store,
                                   principal, teacher_id)


@router.post("/teachers/{teacher_id}/decisions", summary="Approve or reject one record version")
async def post_decision(request: Request, principal: CurrentPrincipal,
                        teacher_id: TeacherId, body: DecisionBody) -> dict[str, Any]:
    decided = await handlers.decide_record(_uow(request), principal, _command(teacher_id, body),
                                           occurred_at=body.occurred_at)
    return _decided(decided)


@router.post("/teachers/{teacher_id}/resubmit",
             summary="The school sends a rejected record back unchanged, with a note")
async def post_resubmit(request: Request, principal: CurrentPrincipal,
                        teacher_id: TeacherId, body: ResubmitBody) -> dict[str, Any]:
    done = await handlers.resubmit_record(
        _uow(request), principal, ResubmitRecord(teacher_id, body.record_version, body.note))
    return {"teacher_id": done.teacher_id, "record_version": done.record_version,
            "level": done.level.value, "outcome": "resubmitted",
            "review_status": done.status.value,
            "events": [{"event_id": str(e.event_id), "event_type": e.event_type}
                       for e in done.events]}


@router.post("/decisions", summary="Approve or reject many records; one result per item")
async def post_decisions(
    request: Request, principal: CurrentPrincipal,
    body: Annotated[DecisionBatch | list[DecisionItem], Body()],
) -> dict[str, Any]:
    items = body.decisions if isinstance(body, DecisionBatch) else body
    occurred_at = body.occurred_at if isinstance(body, DecisionBatch) else None
    config = _config(request)
    limit = config.review_batch_max
    if not items or len(items) > limit:
        raise ValidationProblem([Problem("decisions", f"give 1 to {limit} decisions")])
    outcomes = await handlers.decide_batch(
        _uow(request), principal, [_command(i.teacher_id, i) for i in items],
        occurred_at=occurred_at, chunk=config.review_decision_chunk)
    results = [_outcome(o) for o in outcomes]
    return {
        "results": results,
        "approved": sum(1 for o in outcomes if o.decided and o.decided.approved),
        "rejected": sum(1 for o in outcomes if o.decided and not o.decided.approved),
        "failed": sum(1 for o in outcomes if o.decided is None),
    }


@router.post("/spot-checks", status_code=201, summary="Draw a seeded random spot-check sample")
async def post_spot_check(request: Request, principal: CurrentPrincipal,
                          body: SpotCheckBody) -> JSONResponse:
    event, env = await handlers.draw_sample(
        _uow(request), principal,
        DrawSpotCheck(county_code=body.county_code, size=body.size, percent=body.percent,
                      seed=body.seed))
    content = {**views.spot_check_body(event), "event_id": str(env.event_id),
               "actor": env.actor, "drawn_at": env.occurred_at.isoformat()}
    return JSONResponse(content, status_code=201,
                        headers={"Location": f"/v1/spot-checks/{event.sample_id}"})


@router.get("/quality", summary="Data quality per county (or per school of one county)")
async def get_quality(request: Request, principal: CurrentPrincipal,
                      county_code: RegionCode = None, city_code: RegionCode = None,
                      as_of: Annotated[date | None, Query(
                          description="count decisions made up to the end of this day "
                                      "(Asia/Shanghai)")] = None) -> dict[str, Any]:
    until = (datetime.combine(as_of, time.max, tzinfo=PROVINCE_TZ) if as_of else None)
    async with _runtime(request).pool.acquire() as conn:
        return await views.quality(conn, _queries(request), principal,
                                   county_code=county_code, city_code=city_code,
                                   as_of=until, now=datetime.now(UTC))


@router.get("/spot-checks", summary="A county's spot-check samples, newest first")
async def list_spot_checks(
    request: Request, principal: CurrentPrincipal,
    county_code: Annotated[str, Query(pattern=REGION_CODE)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    async with _runtime(request).pool.acquire() as conn:
        return await views.spot_checks(conn, _queries(request), principal, county_code, limit)


class SpotCheckResultBody(_In):
    teacher_id: str = Field(pattern=TEACHER_ID)
    outcome: Literal["correct", "error_found"]
    fields: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=20, description="the fields found wrong")
    note: str = Field("", max_length=500)


@router.post("/spot-checks/{sample_id}/results", status_code=201,
             summary="Record what checking one sampled record found")
async def post_spot_check_result(request: Request, principal: CurrentPrincipal,
                                 sample_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
                                 body: SpotCheckResultBody) -> dict[str, Any]:
    event, env = await handlers.record_spot_check_result(
        _uow(request), principal, RecordSpotCheckResult(
            sample_id, body.teacher_id, body.outcome == "correct", tuple(body.fields),
            body.note))
    return {**event.model_dump(mode="json"), "event_id": str(env.event_id),
            "actor": env.actor}


@router.get("/spot-checks/error-rates",
            summary="Spot-check error rates per county and school (default: caller's region)")
async def get_error_rates(request: Request, principal: CurrentPrincipal,
                          county_code: RegionCode = None,
                          city_code: RegionCode = None) -> dict[str, Any]:
    async with _runtime(request).pool.acquire() as conn:
        return await views.error_rates(conn, _queries(request), principal,
                                       county_code=county_code, city_code=city_code)


@router.get("/spot-checks/{sample_id}", summary="One sample, redrawn from its seed to prove it")
async def get_spot_check(request: Request, principal: CurrentPrincipal,
                         sample_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
                         ) -> dict[str, Any]:
    async with _runtime(request).pool.acquire() as conn:
        return await views.spot_check(conn, _queries(request), principal, sample_id)
