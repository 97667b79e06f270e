"""The dashboard (GET /) and its downloads, for people with a browser.

A browser cannot send a bearer header from a link, so the page takes the same JWT from
`?token=` once and keeps it in an HttpOnly, SameSite=Strict cookie; every number on the page
is from the same Reports the API serves, scoped to the principal's region.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reporting.adapters.renderers import render
from services.reporting.domain.asof import parse_as_of
from services.reporting.domain.reports import REPORTS, ReportRequest, build_report
from services.reporting.domain.scope import scope_for
from services.reporting.entrypoints.api import deps_of, parse_exclude
from services.reporting.entrypoints.dashboard_html import login_page, page
from services.reporting.service_layer import handlers
from shared.auth import Principal, Unauthenticated, decode_token
from shared.domain.divisions import divisions
from shared.errors import Problem, ValidationProblem

router = APIRouter(include_in_schema=False)
COOKIE = "tmis_token"


def _principal(request: Request, token: str | None) -> Principal | None:
    raw = token or request.cookies.get(COOKIE)
    if not raw:
        return None
    return decode_token(request.app.state.runtime.settings, raw)


def _scope_label(principal: Principal, scope_text: str) -> str:
    if scope_text == "province":
        return "全省"
    code = scope_text.split()[-1]
    d = divisions()
    if scope_text.startswith("city"):
        return d.cities.get(code, code)
    if scope_text.startswith("county"):
        c = d.county(code)
        return c.name if c else code
    return scope_text


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request,
                    as_of: Annotated[str | None, Query()] = None,
                    token: Annotated[str | None, Query()] = None,
                    exclude: Annotated[list[str] | None, Query()] = None) -> Response:
    try:
        principal = _principal(request, token)
    except Unauthenticated as exc:
        return HTMLResponse(login_page(f"令牌无效：{exc.message}"), status_code=401)
    if principal is None:
        return HTMLResponse(login_page(), status_code=401)
    scope = scope_for(principal)
    parsed = parse_as_of(as_of)
    snapshot = await handlers.load_snapshot(deps_of(request), parsed)
    excluded = parse_exclude(exclude)
    reports = {name: build_report(ReportRequest(name, scope, excluded), snapshot, divisions())
               for name in ("findings", "stages", "cities", "counties")}
    query = {"as_of": as_of} if as_of else {}
    downloads = [(label, f"download/{name}.{fmt}?{urlencode(query)}")
                 for label, name, fmt in (("分学段表 CSV", "stages", "csv"),
                                          ("分学段表 XLSX", "stages", "xlsx"),
                                          ("分县区表 XLSX", "counties", "xlsx"),
                                          ("分学校表 XLSX", "schools", "xlsx"),
                                          ("主要发现 XLSX", "findings", "xlsx"),
                                          ("信息确认情况 XLSX", "confirmation", "xlsx"),
                                          ("三方对比 XLSX", "comparison", "xlsx"))]
    html = page(as_of="今日" if parsed.is_now else parsed.label,
                as_of_value=parsed.day.isoformat(), findings=reports["findings"],
                stages=reports["stages"], cities=reports["cities"],
                counties=reports["counties"], scope_label=_scope_label(principal, scope.label()),
                downloads=downloads)
    response = HTMLResponse(html)
    if token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            max_age=8 * 3600)
    return response


@router.get("/download/{name}.{fmt}")
async def download(name: str, fmt: str, request: Request,
                   as_of: Annotated[str | None, Query()] = None) -> Response:
    principal = _principal(request, None)
    if principal is None:
        raise Unauthenticated("log in on the dashboard first")
    if name not in REPORTS or fmt not in ("csv", "xlsx", "json"):
        raise ValidationProblem([Problem("download", "unknown report or format")])
    report = await handlers.build(deps_of(request), ReportRequest(name, scope_for(principal)),
                                  as_of)
    body, media = render(report, fmt)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="tmis-{name}-{report.as_of[:10]}.{fmt}"'})
