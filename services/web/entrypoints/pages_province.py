"""Province, city and county staff: the reporting dashboard (reporting's reports, laid out
here from its JSON API, with charts of them and of reporting's progress series), and the
orgsync batch pages (plan, apply, pending)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.web.domain.charts import PROGRESS_HEADERS, dashboard_charts, progress_rows
from services.web.domain.forms import chinese_message
from services.web.domain.navigation import may_apply, may_plan
from services.web.domain.session import SessionUser
from services.web.domain.views import headline_cards, report_tables
from services.web.entrypoints.pages_chasing import home_notices
from services.web.entrypoints.support import (
    PageError,
    backends,
    checked_form,
    download,
    read_upload,
    redirect,
    render,
    text,
    upload,
    user_of,
)
from services.web.service_layer.errors import BackendError, Conflicting, Invalid

router = APIRouter(include_in_schema=False)
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DOWNLOADS = (("分学段表 XLSX", "stages", "xlsx"), ("分学段表 CSV", "stages", "csv"),
             ("分县区表 XLSX", "counties", "xlsx"), ("分学校表 XLSX", "schools", "xlsx"),
             ("主要发现 XLSX", "findings", "xlsx"), ("信息确认情况 XLSX", "confirmation", "xlsx"),
             ("三方对比 XLSX", "comparison", "xlsx"))


def _as_of_label(as_of: str) -> str:
    """Reporting says "now" for today's figures."""
    return "截至今日" if as_of in ("", "now") else f"截至 {as_of[:10]}"


def _reports_for(user: SessionUser) -> tuple[str, ...]:
    """The province reads its cities and its counties; a city or county its counties."""
    province = user.role in ("province_admin", "province_sysadmin", "query",
                             "service") and not user.region_code
    return ("findings", "stages", *(("cities", "counties") if province else ("counties",)))


def _refusal(answer: BaseException) -> str:
    """A backend's refusal as the page says it; anything else (or a lost sign-in) raises."""
    if not isinstance(answer, BackendError) or answer.status == 401:
        raise answer
    return chinese_message(answer.message)


@router.get("/dashboard")
async def dashboard(request: Request,
                    as_of: Annotated[str | None, Query()] = None) -> Response:
    user = user_of(request)
    day = as_of if as_of and DAY.match(as_of) else None
    names = _reports_for(user)
    client = backends(request).reporting
    *answers, progress = await asyncio.gather(
        *(client.report(user.token, n, day) for n in names), client.progress(user.token, day),
        return_exceptions=True)
    reports: list[dict[str, Any]] = []
    raw: dict[str, dict[str, Any]] = {}
    unavailable: list[str] = []
    headline: dict[str, Any] = {}
    notice: list[str] = []
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, BaseException):
            unavailable.append(f"{name}：{_refusal(answer)}")
            continue
        raw[name] = answer
        summary = answer.get("summary") or {}
        headline = headline or summary.get("headline") or {}
        raw_notice = summary.get("notice_text")
        if raw_notice:
            notice = [raw_notice] if isinstance(raw_notice, str) else [str(p) for p in raw_notice]
        reports.append({"name": name, "title": answer.get("title", name),
                        "as_of": _as_of_label(str(answer.get("as_of", ""))),
                        "flags": [str(f.get("message", "")) for f in answer.get("flags") or []],
                        "tables": report_tables(answer)})
    series: dict[str, Any] | None = None
    if isinstance(progress, BaseException):
        unavailable.append(f"录入进度：{_refusal(progress)}")
    else:
        series = progress
    query = f"?as_of={day}" if day else ""
    return render(request, "dashboard.html", {
        "notices": await home_notices(request, user),
        "title": "数据统计", "as_of": day or "", "reports": reports, "unavailable": unavailable,
        "cards": headline_cards(headline) if headline else [], "notice": notice,
        "charts": dashboard_charts(raw, series), "progress_headers": PROGRESS_HEADERS,
        "progress_rows": progress_rows(series),
        "downloads": [(label, f"/dashboard/download/{n}.{fmt}{query}")
                      for label, n, fmt in DOWNLOADS],
    }, user=user)


@router.get("/dashboard/download/{name}.{fmt}")
async def report_download(request: Request, name: str, fmt: str,
                          as_of: Annotated[str | None, Query()] = None) -> Response:
    user = user_of(request)
    if fmt not in ("xlsx", "csv") or not re.match(r"^[a-z]{1,20}$", name):
        raise PageError(404, "未找到", "没有这种报表或格式")
    day = as_of if as_of and DAY.match(as_of) else None
    return download(await backends(request).reporting.report_file(user.token, name, fmt, day))


# ------------------------------------------------------------------------------ orgsync


def _require_planner(user: SessionUser) -> None:
    if not may_plan(user.role):
        raise PageError(403, "无权访问",
                        "无权操作：超出您的角色或所辖地区范围（仅省级、市州管理员可查看和预览撤并批次）")


def _orgsync_page(request: Request, user: SessionUser, status: int = 200,
                  **context: Any) -> Response:
    return render(request, "orgsync.html", {
        "title": "撤并调整", "may_apply": may_apply(user.role), "errors": {},
        "form_errors": [], **context}, status=status, user=user)


def _refused(request: Request, user: SessionUser, exc: BackendError) -> Response:
    """Orgsync's refusal of a batch: its message, and its problems by line (orgsync answers
    with `issues` {line, field, message} or `problems` {row, loc, msg})."""
    problems = [{"line": p.get("line", p.get("row")), "field": p.get("field", p.get("loc")),
                 "message": p.get("message", p.get("msg"))} for p in exc.problems]
    return _orgsync_page(request, user, exc.status, form_errors=[chinese_message(exc.message)],
                         problems=problems)


@router.get("/orgsync")
async def orgsync_form(request: Request) -> Response:
    user = user_of(request)
    _require_planner(user)
    return _orgsync_page(request, user)


@router.post("/orgsync")
async def orgsync_plan(request: Request) -> Response:
    user = user_of(request)
    _require_planner(user)
    form = await checked_form(request)
    file = upload(form, "file")
    if file is None:
        return _orgsync_page(request, user, 422, errors={"file": "请选择批次文件"})
    name, content, _media = await read_upload(file)
    try:
        plan = await backends(request).orgsync.plan(user.token, name, content)
    except Invalid as exc:
        return _refused(request, user, exc)
    return _orgsync_page(request, user, plan=plan, filename=name,
                         batch_b64=base64.b64encode(content).decode("ascii"),
                         problems=plan.get("problems", []))


@router.post("/orgsync/apply")
async def orgsync_apply(request: Request) -> Response:
    user = user_of(request)
    if not may_apply(user.role):
        raise PageError(403, "无权访问",
                        "无权操作：超出您的角色或所辖地区范围（仅省级管理员可应用撤并批次）")
    form = await checked_form(request)
    name = text(form, "filename") or "batch.csv"
    try:
        content = base64.b64decode(text(form, "batch_b64"), validate=True)
    except (binascii.Error, ValueError):
        content = b""
    if not content:
        return redirect("/orgsync", "批次内容丢失，请重新上传", "error")
    try:
        result = await backends(request).orgsync.apply(user.token, name, content)
    except (Invalid, Conflicting) as exc:
        return _refused(request, user, exc)
    return _orgsync_page(request, user, result=result)


@router.get("/orgsync/pending")
async def orgsync_pending(request: Request) -> Response:
    user = user_of(request)
    _require_planner(user)
    b = backends(request).orgsync
    pending, applied = await asyncio.gather(b.pending(user.token), b.batches(user.token,
                                                                              "applied"))
    return render(request, "orgsync_pending.html", {
        "title": "待撤并", "pending": pending, "batches": applied.get("batches", [])},
        user=user)
