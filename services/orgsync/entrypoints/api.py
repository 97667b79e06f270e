"""Orgsync's HTTP API (/v1): parse the request, call one handler, shape the answer.

    POST /v1/batches/plan      what a batch would change and every problem; changes nothing
    POST /v1/batches/apply     apply the whole batch or nothing (200 applied / already applied,
                               422 with every problem, 409 when the id names other content)
    POST /v1/batches/announce  make a batch known as pending (not applied)
    GET  /v1/batches           batches seen (?status=announced|applied)
    GET  /v1/batches/{id}      one batch
    GET  /v1/pending           announced, not applied: schools to merge or close, per stage
    GET  /v1/registry          how much of the registry orgsync has followed

A batch is sent as JSON (application/json), as CSV (text/csv) or as a multipart upload with a
`file` part (.csv or .json); docs/orgsync-batch-format.md describes both formats.
Province administrators and service accounts may apply and announce; city administrators may
plan too; every signed-in account may read.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.datastructures import UploadFile

from services.orgsync.config import OrgsyncSettings
from services.orgsync.domain.decisions import Outcome
from services.orgsync.domain.parsing import COLUMNS, ParsedBatch, parse_batch
from services.orgsync.service_layer import handlers
from services.orgsync.service_layer.handlers import Stores
from shared.auth import CurrentPrincipal, Principal, Role
from shared.errors import Forbidden, Problem, ValidationProblem
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["orgsync"])

APPLIERS = frozenset({Role.PROVINCE_ADMIN, Role.SERVICE})
PLANNERS = APPLIERS | {Role.CITY_ADMIN}

_OPERATION_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["op", "school_code"],
    "properties": {c: {"type": ["string", "boolean", "null"]} for c in COLUMNS[2:]},
}
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {
                "type": "object", "required": ["batch_id", "effective_date", "operations"],
                "properties": {"batch_id": {"type": "string"},
                               "effective_date": {"type": "string", "format": "date"},
                               "operations": {"type": "array", "items": _OPERATION_SCHEMA}}}},
            "text/csv": {"schema": {"type": "string", "description": ",".join(COLUMNS)}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}},
        },
    }
}


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _stores(request: Request) -> Stores:
    return _runtime(request).extras["orgsync_stores"]


def _allow(principal: Principal, roles: frozenset[Role], action: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"{principal.role} 账号不能{action}调整批次 ({principal.role} accounts may "
                        f"not {action} restructuring batches)")


async def read_batch(request: Request) -> ParsedBatch:
    """The batch in the request body, whichever of the three forms it came in."""
    limit = _runtime(request).extras.get("orgsync_settings", OrgsyncSettings()).max_upload_bytes
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationProblem([Problem("file", "multipart 请求须包含 file 部分 (the upload "
                                             "needs a 'file' part)")])
        data = await upload.read()
        name = (upload.filename or "").lower()
        fmt = "json" if name.endswith(".json") or "json" in (upload.content_type or "") \
            else "csv"
    else:
        data = await request.body()
        fmt = "json" if "json" in ctype else "csv"
    if len(data) > limit:
        raise ValidationProblem([Problem("body", f"文件超过 {limit} 字节 (file too large)")])
    if not data.strip():
        raise ValidationProblem([Problem("body", "请求中没有批次文件 (empty body)")])
    return parse_batch(data, fmt)


@router.post("/batches/plan", openapi_extra=BATCH_BODY,
             summary="What a batch would change, and every problem (changes nothing)")
async def plan_batch(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    _allow(principal, PLANNERS, "预览")
    parsed = await read_batch(request)
    planned = await handlers.plan_batch(_runtime(request).pool, _stores(request), parsed)
    if planned.plan is None:
        return {"batch_id": parsed.batch_id, "ok": False, "operations": 0,
                "problems": [i.as_dict() for i in parsed.issues], "warnings": [],
                "known_batch": None}
    # known_batch: the id was announced or applied before ({status, same_content}); applying
    # an already applied batch again changes nothing, whatever this plan of it says
    return {**planned.plan.as_dict(), "known_batch": planned.known_status()}


@router.post("/batches/apply", openapi_extra=BATCH_BODY,
             summary="Apply a whole batch, or nothing")
async def apply_batch(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    _allow(principal, APPLIERS, "应用")
    parsed = await read_batch(request)
    result = await handlers.apply_batch(_runtime(request).pool, _stores(request), parsed,
                                        principal.subject)
    body: dict[str, Any] = {
        "outcome": result.outcome.value, "batch_id": result.batch.batch_id,
        "fingerprint": result.batch.fingerprint(),
        "effective_date": result.batch.effective_date.isoformat(),
        "operations": len(result.batch.operations),
        "teachers_to_move": result.teachers_to_move,
        "message": (f"批次 {result.batch.batch_id} 已应用" if result.outcome is Outcome.APPLIED
                    else f"批次 {result.batch.batch_id} 此前已应用，本次未做任何修改"),
    }
    if result.plan is not None:
        body["summary"] = handlers.summary(result.plan)
    return body


@router.post("/batches/announce", openapi_extra=BATCH_BODY,
             summary="Make a batch known as pending (announced, not applied)")
async def announce_batch(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    _allow(principal, APPLIERS, "公布")
    parsed = await read_batch(request)
    result = await handlers.announce_batch(_runtime(request).pool, _stores(request), parsed,
                                           principal.subject)
    assert result.plan is not None
    return {"outcome": result.outcome.value, "batch_id": result.batch.batch_id,
            "fingerprint": result.batch.fingerprint(),
            "effective_date": result.batch.effective_date.isoformat(),
            "operations": len(result.batch.operations),
            # what applying it now would meet: the registry may still change before then
            "plan": result.plan.as_dict()}


@router.get("/batches", summary="Batches announced or applied")
async def list_batches(request: Request, principal: CurrentPrincipal,
                       status: Literal["announced", "applied"] | None = Query(None)
                       ) -> dict[str, Any]:
    stores = _stores(request)
    async with _runtime(request).pool.acquire() as conn:
        rows = await stores.batches.listing(conn, status)
    return {"batches": rows}


@router.get("/batches/{batch_id}", summary="One batch: status, operations, what it did")
async def get_batch(batch_id: str, request: Request, principal: CurrentPrincipal
                    ) -> dict[str, Any]:
    return await handlers.get_batch(_runtime(request).pool, _stores(request), batch_id)


@router.get("/pending", summary="Restructurings announced but not yet applied, per stage")
async def pending(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    report = await handlers.pending(_runtime(request).pool, _stores(request))
    return report.as_dict()


@router.get("/registry", summary="How much of intake's registry orgsync has followed")
async def registry(request: Request, principal: CurrentPrincipal,
                   school: list[str] = Query(default=[])) -> dict[str, Any]:
    """Totals, and the named schools (?school=CODE, repeatable) with their teacher counts."""
    stores = _stores(request)
    async with _runtime(request).pool.acquire() as conn:
        totals = await stores.registry.totals(conn)
        schools = await stores.registry.schools(conn, school) if school else {}
    return {"totals": totals, "schools": {
        code: {"profile": s.profile.model_dump(mode="json"), "open": s.open,
               "merged_into": s.merged_into, "in_post": s.in_post, "attached": s.attached}
        for code, s in schools.items()}}
