"""Reporting's HTTP API under /v1: reports, baselines, sign-offs, confirmation tables.

    GET  /v1/reports/{name}?as_of=&format=json|csv|xlsx|table&exclude=&year=&city=&county=
    GET  /v1/progress?until=&step_days=&points=&city=&county=   headline figures over time
    GET  /v1/baselines/template?kind=annual|base&level=stage|county|school&format=csv|xlsx
    POST /v1/baselines               multipart: file, kind, year, level
    POST /v1/signoffs                {county_code, agrees, explanation}
    GET  /v1/confirmation/{school_code}.xlsx | .pdf
    POST /v1/confirmation/{school_code}/returned   {teacher_ids?, signed}

Any authenticated principal reads what covers its region; parse -> handler -> render.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile

from services.reporting.adapters.baseline_files import write_csv, write_xlsx
from services.reporting.adapters.renderers import FORMATS, HEADERS, render
from services.reporting.domain.baselines import template
from services.reporting.domain.findings import FindingsParams
from services.reporting.domain.progress import MAX_POINTS
from services.reporting.domain.reports import REPORTS, ReportRequest
from services.reporting.domain.scope import scope_for
from services.reporting.service_layer import handlers
from shared.auth import CurrentPrincipal
from shared.domain.divisions import divisions
from shared.errors import Problem, ValidationProblem
from shared.spreadsheet import CSV_MEDIA

router = APIRouter(prefix="/v1", tags=["reporting"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def deps_of(request: Request) -> handlers.Deps:
    deps: handlers.Deps = request.app.state.runtime.extras["deps"]
    return deps


def parse_exclude(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.replace("，", ",").split(",") if x.strip()]
    return tuple(out)


@router.get("/reports/{name}", summary="A report as of a date (JSON, CSV, XLSX or text)")
async def get_report(
    name: str, request: Request, principal: CurrentPrincipal,
    as_of: Annotated[str | None, Query(description="YYYY-MM-DD (end of that day, CST)")] = None,
    format: Annotated[str, Query(description="json | csv | xlsx | table")] = "json",
    header: Annotated[str, Query(description="a CSV's header row: key (English keys, for "
                                             "programs) | title (Chinese column titles)")] = "key",
    exclude: Annotated[list[str] | None, Query(description="school codes or names")] = None,
    year: Annotated[int | None, Query(description="baseline year; default: the last "
                                                   "year before as_of")] = None,
    city: str | None = None, county: str | None = None, school: str | None = None,
    lowest: Annotated[int, Query(ge=1, le=14)] = 3,
    counties: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    if name not in REPORTS:
        raise ValidationProblem([Problem("name", f"unknown report; one of {', '.join(REPORTS)}")])
    if format not in FORMATS:
        raise ValidationProblem([Problem("format", f"one of {', '.join(FORMATS)}")])
    if header not in HEADERS:
        raise ValidationProblem([Problem("header", f"one of {', '.join(HEADERS)}")])
    city_of = {c.code: c.city_code for c in divisions().counties.values()}
    scope = scope_for(principal, city=city, county=county, school=school, city_of_county=city_of)
    req = ReportRequest(name, scope, parse_exclude(exclude),
                        FindingsParams(lowest_cities=lowest, kindergarten_counties=counties))
    report = await handlers.build(deps_of(request), req, as_of, year)
    body, media = render(report, format, header)
    headers = {}
    if format in ("csv", "xlsx"):
        headers["Content-Disposition"] = \
            f'attachment; filename="tmis-{name}-{report.as_of[:10]}.{format}"'
    return Response(body, media_type=media, headers=headers)


@router.get("/progress", summary="Entered schools and staff as of several days (a time series)")
async def get_progress(
    request: Request, principal: CurrentPrincipal,
    until: Annotated[str | None, Query(description="the last day, YYYY-MM-DD; default now")]
    = None,
    step_days: Annotated[int, Query(ge=1, le=92)] = 7,
    points: Annotated[int, Query(ge=2, le=MAX_POINTS)] = 8,
    city: str | None = None, county: str | None = None, school: str | None = None,
) -> dict[str, Any]:
    city_of = {c.code: c.city_code for c in divisions().counties.values()}
    scope = scope_for(principal, city=city, county=county, school=school, city_of_county=city_of)
    return await handlers.progress(deps_of(request), scope, until, step_days, points)


@router.get("/baselines/template", summary="An empty baseline file to fill in")
async def baseline_template(
    principal: CurrentPrincipal, kind: str = "annual", level: str = "county",
    format: str = "csv",
) -> Response:
    header, rows = template(kind, level, divisions())
    if format == "xlsx":
        body, media = write_xlsx(header, rows, f"{kind}-{level}"), XLSX
    elif format == "csv":
        body, media = write_csv(header, rows), CSV_MEDIA
    else:
        raise ValidationProblem([Problem("format", "csv or xlsx")])
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="baseline-{kind}-{level}.{format}"'})


MAX_BASELINE_BYTES = 20 * 1024 * 1024  # a province's school-level base table is ~2 MB
BASELINE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "kind"],
        "properties": {"file": {"type": "string", "format": "binary"},
                       "kind": {"type": "string", "enum": ["annual", "base"]},
                       "year": {"type": "integer"}, "level": {"type": "string"}}}}}}}


def _form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


@router.post("/baselines", status_code=201, openapi_extra=BASELINE_BODY,
             summary="Import a baseline (annual or base table)")
async def import_baseline(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    # The role is checked before the body is read (the body is not a parameter, so FastAPI
    # does not parse it before the dependencies); its size is bounded by shared/bodylimit.py.
    handlers.require_baseline_importer(principal)
    form = await request.form(max_files=1, max_fields=10)
    file, kind, year = form.get("file"), _form_text(form, "kind"), _form_text(form, "year")
    problems = ([] if isinstance(file, UploadFile) else [Problem("file", "field required")]) + \
        ([] if kind else [Problem("kind", "field required")]) + \
        ([] if year is None or year.isdigit() else [Problem("year", "an integer")])
    if problems or not isinstance(file, UploadFile) or kind is None:
        raise ValidationProblem(problems)
    data = await file.read()
    return await handlers.import_baseline(
        deps_of(request), principal, data, file.filename, kind,
        int(year) if year is not None else handlers.default_year(),
        _form_text(form, "level"))


class SignoffIn(BaseModel):
    county_code: str = Field(pattern=r"^\d{6}$")
    agrees: bool
    explanation: str = ""


@router.post("/signoffs", status_code=201, summary="A city's completeness sign-off of a county")
async def post_signoff(body: SignoffIn, request: Request,
                       principal: CurrentPrincipal) -> dict[str, Any]:
    return await handlers.sign_off(deps_of(request), principal, body.county_code, body.agrees,
                                   body.explanation)


@router.get("/confirmation/{school_code}.{fmt}",
            summary="Export a school's teacher information confirmation table (XLSX or PDF)")
async def export_confirmation(school_code: str, fmt: str, request: Request,
                              principal: CurrentPrincipal) -> Response:
    doc = await handlers.export_confirmation(deps_of(request), principal, school_code, fmt)
    media = XLSX if fmt == "xlsx" else "application/pdf"
    return Response(doc, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="confirmation-{school_code}.{fmt}"'})


class ReturnedIn(BaseModel):
    teacher_ids: list[str] | None = None
    signed: bool = True


@router.post("/confirmation/{school_code}/returned", status_code=201,
             summary="Record that the confirmation table came back (signed)")
async def post_returned(school_code: str, request: Request, principal: CurrentPrincipal,
                        body: ReturnedIn | None = None) -> dict[str, Any]:
    body = body or ReturnedIn()
    return await handlers.mark_returned(deps_of(request), principal, school_code,
                                        body.teacher_ids, body.signed)
