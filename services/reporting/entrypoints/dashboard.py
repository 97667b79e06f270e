"""The dashboard (GET /) and its downloads, for people with a browser.

Both go through the same authentication as the API (`shared.auth.current_principal`: the
account gate, the production rule for account-less tokens, no teachers) and the same region
scope (`scope_for`, with the API's `city`/`county`/`school` narrowing). A browser brings the web
front's session cookie (`tmis_session`, set at sign-in on the web front, sent to every service
on the same host); a program sends `Authorization: Bearer`. A token in the URL is refused
(400). Every number on the page is from the same Reports the API serves.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reporting.adapters.renderers import render
from services.reporting.domain.asof import parse_as_of
from services.reporting.domain.reports import REPORTS, ReportRequest, build_report
from services.reporting.domain.scope import Scope, scope_for
from services.reporting.entrypoints.api import deps_of, parse_exclude
from services.reporting.entrypoints.dashboard_html import login_page, page
from services.reporting.service_layer import handlers
from shared.auth import CurrentPrincipal, Principal, current_principal
from shared.domain.divisions import divisions
from shared.errors import Forbidden, Problem, TmisError, ValidationProblem

router = APIRouter(include_in_schema=False)
DOWNLOADS = (("分学段表 CSV", "stages", "csv"), ("分学段表 XLSX", "stages", "xlsx"),
             ("分县区表 XLSX", "counties", "xlsx"), ("分学校表 XLSX", "schools", "xlsx"),
             ("主要发现 XLSX", "findings", "xlsx"), ("信息确认情况 XLSX", "confirmation", "xlsx"),
             ("三方对比 XLSX", "comparison", "xlsx"))


def _scope(principal: Principal, city: str | None, county: str | None,
           school: str | None) -> Scope:
    city_of = {c.code: c.city_code for c in divisions().counties.values()}
    return scope_for(principal, city=city, county=county, school=school,
                     city_of_county=city_of)


def _scope_label(scope: Scope) -> str:
    d = divisions()
    if scope.school_code:
        return f"学校 {scope.school_code}"
    if scope.county_code:
        c = d.county(scope.county_code)
        return c.name if c else scope.county_code
    if scope.city_code:
        return d.cities.get(scope.city_code, scope.city_code)
    return "全省"


def _refusal(exc: TmisError) -> HTMLResponse:
    """The page a browser gets instead of the dashboard (401, 403, 400 for a token in the
    URL): sign in, or why not, with the API's status."""
    title = "无权访问" if isinstance(exc, Forbidden) else "请登录"
    return HTMLResponse(login_page(exc.message, title=title), status_code=exc.status_code)


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request,
                    as_of: Annotated[str | None, Query()] = None,
                    exclude: Annotated[list[str] | None, Query()] = None,
                    city: str | None = None, county: str | None = None,
                    school: str | None = None) -> Response:
    try:
        principal = await current_principal(request)
        scope = _scope(principal, city, county, school)
    except TmisError as exc:
        return _refusal(exc)
    parsed = parse_as_of(as_of)
    snapshot = await handlers.load_snapshot(deps_of(request), parsed)
    excluded = parse_exclude(exclude)
    reports = {name: build_report(ReportRequest(name, scope, excluded), snapshot, divisions())
               for name in ("findings", "stages", "cities", "counties")}
    query = {k: v for k, v in (("as_of", as_of), ("city", city), ("county", county),
                               ("school", school)) if v}
    downloads = [(label, f"download/{name}.{fmt}?{urlencode(query)}")
                 for label, name, fmt in DOWNLOADS]
    html = page(as_of="今日" if parsed.is_now else parsed.label,
                as_of_value=parsed.day.isoformat(), findings=reports["findings"],
                stages=reports["stages"], cities=reports["cities"],
                counties=reports["counties"], scope_label=_scope_label(scope),
                downloads=downloads)
    return HTMLResponse(html)


@router.get("/download/{name}.{fmt}")
async def download(name: str, fmt: str, request: Request, principal: CurrentPrincipal,
                   as_of: Annotated[str | None, Query()] = None,
                   city: str | None = None, county: str | None = None,
                   school: str | None = None) -> Response:
    if name not in REPORTS or fmt not in ("csv", "xlsx", "json"):
        raise ValidationProblem([Problem("download", "unknown report or format")])
    report = await handlers.build(deps_of(request),
                                  ReportRequest(name, _scope(principal, city, county, school)),
                                  as_of)
    body, media = render(report, fmt, "title")  # for people: Chinese column titles
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="tmis-{name}-{report.as_of[:10]}.{fmt}"'})
