"""The school's files: importing the template (with its per-row report), downloading the
template, and the teacher information confirmation table (export, mark returned)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.domain.forms import chinese_message, map_problems
from services.web.entrypoints.support import (
    backends,
    checked_form,
    download,
    read_upload,
    redirect,
    render,
    school_of,
    text,
    upload,
    user_of,
)
from services.web.service_layer.errors import Conflicting, Invalid

router = APIRouter(prefix="/school", include_in_schema=False)


@router.get("/import")
async def import_form(request: Request) -> Response:
    user = user_of(request)
    school_of(user)
    return render(request, "import.html", {"title": "批量导入"}, user=user)


@router.post("/import")
async def import_upload(request: Request) -> Response:
    user = user_of(request)
    code = school_of(user)
    form = await checked_form(request)
    file = upload(form, "file")
    if file is None:
        return render(request, "import.html", {"title": "批量导入",
                                               "errors": {"file": "请选择要上传的文件"}},
                      status=422, user=user)
    name, content, media = await read_upload(file)
    try:
        report = await backends(request).intake.import_file(user.token, code, name, content,
                                                            media)
    except Invalid as exc:
        errors = map_problems(exc.problems, frozenset({"file"}), exc.message)
        return render(request, "import.html", {
            "title": "批量导入", "errors": errors.fields, "form_errors": errors.general},
            status=exc.status, user=user)
    report["problems"] = [{**p, "msg": chinese_message(str(p.get("msg", "")))}
                          for p in report.get("problems", [])]
    return render(request, "import.html", {"title": "批量导入", "report": report,
                                           "filename": name}, user=user)


@router.get("/import/template.{fmt}")
async def import_template(request: Request, fmt: str) -> Response:
    user = user_of(request)
    if fmt not in ("xlsx", "csv"):
        return redirect("/school/import", "模板格式只有 XLSX 和 CSV", "error")
    found = await backends(request).intake.template(user.token, fmt)
    return download(found)


# ----------------------------------------------------------------------- confirmation


@router.get("/confirmation")
async def confirmation_page(request: Request) -> Response:
    user = user_of(request)
    code = school_of(user)
    return render(request, "confirmation.html", {"title": "教师信息确认表", "school_code": code},
                  user=user)


@router.get("/confirmation/export.{fmt}")
async def confirmation_export(request: Request, fmt: str) -> Response:
    user = user_of(request)
    code = school_of(user)
    if fmt not in ("xlsx", "pdf"):
        return redirect("/school/confirmation", "确认表只能导出 XLSX 或 PDF", "error")
    found = await backends(request).reporting.confirmation(user.token, code, fmt)
    return download(found)


@router.post("/confirmation")
async def confirmation_returned(request: Request) -> Response:
    user = user_of(request)
    code = school_of(user)
    form = await checked_form(request)
    signed = text(form, "signed") in ("on", "true", "1")
    try:
        await backends(request).reporting.mark_returned(user.token, code, signed)
    except (Invalid, Conflicting) as exc:
        return redirect("/school/confirmation", chinese_message(exc.message), "error")
    return redirect("/school/confirmation",
                    "已标记确认表已交回（已签字）" if signed else "已标记确认表已交回（未签字）")
