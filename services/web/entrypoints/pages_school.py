"""The school administrator's pages: the school's teachers with their review state and the
teachers' flags, add and edit a teacher (errors next to the fields), and a teacher's sign-in
credential. Transfers are in pages_school_moves, imports and the confirmation table in
pages_school_files."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from services.web.domain.forms import (
    TEACHER_FIELD_NAMES,
    TEACHER_FIELDS,
    FormErrors,
    chinese_message,
    form_values,
    new_record,
    record_changes,
    record_values,
)
from services.web.domain.labels import field_label, status_label
from services.web.domain.views import rejection_text, school_rows
from services.web.entrypoints.pages_chasing import home_notices
from services.web.entrypoints.support import (
    backends,
    checked_form,
    errors_of,
    redirect,
    render,
    school_of,
    text,
    user_of,
)
from services.web.service_layer.errors import (
    BackendError,
    Conflicting,
    Invalid,
    NotAllowed,
    NotFoundThere,
    Unavailable,
)
from services.web.service_layer.school import school_data

router = APIRouter(prefix="/school", include_in_schema=False)
TeacherId = UUID


@router.get("")
async def school_page(request: Request,
                      name: Annotated[str, Query(max_length=50)] = "",
                      page: Annotated[int, Query(ge=0, le=1000)] = 0) -> Response:
    user = user_of(request)
    code = school_of(user)
    name = name.strip()
    data = await school_data(backends(request), user.token, code, name=name, page=page)
    rows = school_rows(data.teachers, data.queue_items)
    names = {r.teacher_id: r.name for r in rows}
    return render(request, "school.html", {
        "notices": await home_notices(request, user), "title": "本校教师",
        "school_code": code, "rows": rows, "notes": data.notes,
        "name": name, "page": page, "more": data.more,
        "flags": [{**f, "teacher_name": names.get(f.get("teacher_id", ""), ""),
                   "field_label": field_label(str(f.get("field", "")))} for f in data.flags],
    }, user=user)


@router.post("/flags/{flag_id}/resolve")
async def resolve_flag(request: Request, flag_id: UUID) -> Response:
    """The school answers a teacher's flag (after fixing the record, or saying why not)."""
    user = user_of(request)
    code = school_of(user)
    form = await checked_form(request)
    try:
        await backends(request).intake.resolve_flag(user.token, code, str(flag_id),
                                                    text(form, "note"))
    except (Invalid, Conflicting, NotFoundThere) as exc:
        return redirect("/school", chinese_message(exc.message), "error")
    return redirect("/school", "已处理教师反馈")


# ------------------------------------------------------------------ add and edit a teacher


def _teacher_form(request: Request, user: Any, *, title: str, action: str,
                  values: dict[str, str], errors: FormErrors | None = None,
                  status: int = 200, **extra: Any) -> Response:
    errors = errors or FormErrors()
    return render(request, "teacher_form.html", {
        "title": title, "action": action, "fields": TEACHER_FIELDS, "values": values,
        "errors": errors.fields, "form_errors": errors.general, **extra,
    }, status=status, user=user)


@router.get("/teachers/new")
async def new_teacher_form(request: Request) -> Response:
    user = user_of(request)
    school_of(user)
    values = {f.name: "" for f in TEACHER_FIELDS}
    values.update(post_status="in_post", is_fulltime_teacher="true")
    return _teacher_form(request, user, title="新增教师", action="/school/teachers/new",
                         values=values)


@router.post("/teachers/new")
async def add_teacher(request: Request) -> Response:
    user = user_of(request)
    code = school_of(user)
    form = await checked_form(request)
    values = form_values(form, TEACHER_FIELD_NAMES)
    try:
        accepted = await backends(request).intake.register_teacher(user.token, code,
                                                                   new_record(values))
    except BackendError as exc:
        return _teacher_form(request, user, title="新增教师", action="/school/teachers/new",
                             values=values, errors=errors_of(exc, TEACHER_FIELD_NAMES),
                             status=exc.status)
    return redirect(f"/school/teachers/{accepted['teacher_id']}",
                    f"已新增教师 {values['name']}，已提交审核")


async def _review_state(request: Request, token: str, teacher_id: str) -> dict[str, Any] | None:
    try:
        return await backends(request).review.teacher(token, teacher_id)
    except (NotFoundThere, Unavailable, NotAllowed):
        return None


async def _edit_page(request: Request, user: Any, teacher_id: str, *,
                     values: dict[str, str] | None = None, errors: FormErrors | None = None,
                     status: int = 200, note: str = "") -> Response:
    teacher = await backends(request).intake.get_teacher(user.token, teacher_id)
    review = await _review_state(request, user.token, teacher_id)
    stored = record_values(teacher["record"], teacher.get("id_number"))
    return _teacher_form(
        request, user, title=f"教师信息：{teacher['record'].get('name', '')}",
        action=f"/school/teachers/{teacher_id}", values={**(values or stored), "note": note},
        errors=errors,
        status=status, teacher=teacher, expected_version=teacher["version"],
        review_status=(review or {}).get("status"),
        review_status_label=status_label((review or {}).get("status")),
        reject_reason=rejection_text((review or {}).get("rejected")),
        review_version=(review or {}).get("record_version"),
        in_review=review is not None)


@router.get("/teachers/{teacher_id}")
async def teacher_page(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    return await _edit_page(request, user, str(teacher_id))


def _form_int(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _version(form: FormData) -> int | None:
    return _form_int(form, "expected_version")


@router.post("/teachers/{teacher_id}")
async def edit_teacher(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    tid = str(teacher_id)
    values = form_values(form, TEACHER_FIELD_NAMES)
    b = backends(request)
    current = await b.intake.get_teacher(user.token, tid)
    version = _version(form)
    if version is None:
        version = int(current["version"])
    changes = record_changes(record_values(current["record"], current.get("id_number")),
                             values)
    if not changes:
        return redirect(f"/school/teachers/{tid}", "没有修改")
    try:
        await b.intake.update_teacher(user.token, tid, version, changes)
    except BackendError as exc:
        errors = errors_of(exc, TEACHER_FIELD_NAMES)
        if isinstance(exc, Conflicting) and exc.code == "stale_version":
            errors.general[:] = ["该记录已被他人修改，请刷新页面后重新填写"]
        return await _edit_page(request, user, tid, values=values, errors=errors,
                                status=exc.status)
    return redirect(f"/school/teachers/{tid}", "已保存，已重新提交审核")


@router.post("/teachers/{teacher_id}/resubmit")
async def resubmit_teacher(request: Request, teacher_id: TeacherId) -> Response:
    """重新提交: a rejected record sent back unchanged, with a note to the reviewer."""
    user = user_of(request)
    form = await checked_form(request)
    tid, note = str(teacher_id), text(form, "note")
    version = _form_int(form, "record_version")
    try:
        if version is None:
            raise Invalid("web", "页面已过期，请刷新后重试")
        await backends(request).review.resubmit(user.token, tid, version, note)
    except (Invalid, Conflicting) as exc:
        errors = errors_of(exc, frozenset({"note"}))
        if isinstance(exc, Conflicting):
            errors.general[:] = ["该记录已有新的变化（已修改或已重新审核），请刷新页面"]
        return await _edit_page(request, user, tid, values=None, errors=errors,
                                status=exc.status, note=note)
    return redirect(f"/school/teachers/{tid}", "已重新提交审核")


@router.post("/teachers/{teacher_id}/credential")
async def issue_credential(request: Request, teacher_id: TeacherId) -> Response:
    """A teacher's sign-in credential, shown this once (intake keeps only its hash)."""
    user = user_of(request)
    await checked_form(request)
    b = backends(request)
    teacher = await b.intake.get_teacher(user.token, str(teacher_id))
    issued = await b.intake.issue_credential(user.token, str(teacher_id))
    return render(request, "credential.html", {
        "title": "教师登录凭证", "teacher": teacher, "credential": issued["credential"]},
        user=user)
