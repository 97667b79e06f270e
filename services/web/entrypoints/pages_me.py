"""A teacher's own page: their record as the school entered it, confirm it, or flag a field."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.domain.forms import chinese_message, map_problems
from services.web.domain.labels import field_label, value_label
from services.web.entrypoints.support import (
    PageError,
    backends,
    checked_form,
    download,
    redirect,
    render,
    text,
    user_of,
)
from services.web.service_layer.errors import Conflicting, Invalid

router = APIRouter(include_in_schema=False)


async def _me_page(request: Request, *, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, status: int = 200) -> Response:
    user = user_of(request)
    if user.role != "teacher":
        raise PageError(403, "无权访问", "此页面仅供教师本人使用")
    mine = await backends(request).intake.own_record(user.token)
    record = dict(mine.get("record") or {})
    if mine.get("id_number"):
        record["id_number_masked"] = mine["id_number"]
    rows = [(k, field_label(k), value_label(v)) for k, v in record.items()]
    return render(request, "me.html", {
        "title": "我的信息", "mine": mine, "rows": rows,
        "field_options": [(k, label) for k, label, _ in rows],
        "errors": errors or {}, "values": values or {}}, status=status, user=user)


@router.get("/me")
async def me(request: Request) -> Response:
    return await _me_page(request)


@router.get("/me/confirmation.pdf")
async def own_confirmation_form(request: Request) -> Response:
    """The teacher's own confirmation table (full ID number) to print, sign and hand in."""
    user = user_of(request)
    if user.role != "teacher":
        raise PageError(403, "无权访问", "此页面仅供教师本人使用")
    return download(await backends(request).intake.own_confirmation_form(user.token))


@router.post("/me/confirm")
async def confirm(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    version = text(form, "record_version")
    if not version.isdigit():
        return redirect("/me", "请刷新页面后再确认", "error")
    try:
        await backends(request).intake.confirm(user.token, int(version))
    except (Invalid, Conflicting) as exc:
        return redirect("/me", chinese_message(exc.message), "error")
    return redirect("/me", "已确认：我的信息无误")


@router.post("/me/flags")
async def flag(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    values = {"field": text(form, "field"), "comment": text(form, "comment")}
    if not values["comment"]:
        return await _me_page(request, errors={"comment": "请说明哪里有误"}, values=values,
                              status=422)
    try:
        await backends(request).intake.flag(user.token, values["field"], values["comment"])
    except Invalid as exc:
        errs = map_problems(exc.problems, frozenset(values), exc.message)
        return await _me_page(request, errors={**errs.fields,
                                               **({"comment": errs.general[0]}
                                                  if errs.general else {})},
                              values=values, status=exc.status)
    return redirect("/me", "已提交反馈，学校将核对修改")
