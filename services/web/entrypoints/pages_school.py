"""The school administrator's pages: the school's teachers with their review state, add and
edit a teacher, transfer in and return to post with a proof document, import the template,
and the confirmation table."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.web.domain.forms import (
    TEACHER_FIELD_NAMES,
    TEACHER_FIELDS,
    FormErrors,
    chinese_message,
    form_values,
    map_problems,
    new_record,
    record_changes,
    record_values,
)
from services.web.domain.labels import field_label, status_label
from services.web.domain.views import rejection_text, school_rows
from services.web.entrypoints.support import (
    backends,
    checked_form,
    read_upload,
    redirect,
    render,
    school_of,
    text,
    upload,
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


def _errors_of(exc: BackendError, names: frozenset[str]) -> FormErrors:
    if isinstance(exc, Invalid | Conflicting):
        return map_problems(exc.problems, names, exc.message)
    raise exc


@router.get("")
async def school_page(request: Request) -> Response:
    user = user_of(request)
    code = school_of(user)
    data = await school_data(backends(request), user.token, code)
    rows = school_rows(data.teachers, data.queue_items)
    names = {r.teacher_id: r.name for r in rows}
    return render(request, "school.html", {
        "title": "本校教师", "school_code": code, "rows": rows, "notes": data.notes,
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
                             values=values, errors=_errors_of(exc, TEACHER_FIELD_NAMES),
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
                     status: int = 200) -> Response:
    teacher = await backends(request).intake.get_teacher(user.token, teacher_id)
    review = await _review_state(request, user.token, teacher_id)
    stored = record_values(teacher["record"], teacher.get("id_number"))
    return _teacher_form(
        request, user, title=f"教师信息：{teacher['record'].get('name', '')}",
        action=f"/school/teachers/{teacher_id}", values=values or stored, errors=errors,
        status=status, teacher=teacher, expected_version=teacher["version"],
        review_status=(review or {}).get("status"),
        review_status_label=status_label((review or {}).get("status")),
        reject_reason=rejection_text((review or {}).get("rejected")),
        in_review=review is not None)


@router.get("/teachers/{teacher_id}")
async def teacher_page(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    return await _edit_page(request, user, str(teacher_id))


def _version(form: FormData) -> int | None:
    raw = text(form, "expected_version")
    return int(raw) if raw.isdigit() else None


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
        errors = _errors_of(exc, TEACHER_FIELD_NAMES)
        if isinstance(exc, Conflicting) and exc.code == "stale_version":
            errors.general[:] = ["该记录已被他人修改，请刷新页面后重新填写"]
        return await _edit_page(request, user, tid, values=values, errors=errors,
                                status=exc.status)
    return redirect(f"/school/teachers/{tid}", "已保存，已重新提交审核")


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


# ------------------------------------------------------------ transfer and return to post


PROOF_NAMES = frozenset({"to_school_code", "school_code", "proof", "teacher_id",
                         "proof_sha256", "file"})


async def _proof_sha(request: Request, token: str, form: FormData) -> str:
    """Upload the form's proof document to intake; its sha256 (Invalid when missing/refused)."""
    file = upload(form, "proof")
    if file is None:
        raise Invalid("web", "请上传证明材料", [{"loc": "proof", "msg": "请上传证明材料"}])
    name, content, media = await read_upload(file)
    try:
        doc = await backends(request).intake.upload_document(token, name, content, media)
    except Invalid as exc:
        if exc.status == 415:
            msg = "证明材料须为 PDF、JPEG 或 PNG 文件"
        elif exc.status == 413:
            msg = "证明材料超过大小限制（5 MiB）"
        else:
            msg = chinese_message(exc.message)
        raise Invalid("intake", msg, [{"loc": "proof", "msg": msg}], status=422) from None
    return str(doc["sha256"])


def _proof_errors(exc: BackendError) -> FormErrors:
    errors = _errors_of(exc, PROOF_NAMES)
    if "proof_sha256" in errors.fields:
        errors.fields["proof"] = errors.fields.pop("proof_sha256")
    if "file" in errors.fields:
        errors.fields["proof"] = errors.fields.pop("file")
    return errors


@router.get("/transfer")
async def transfer_start(request: Request,
                         teacher_id: Annotated[str | None, Query()] = None) -> Response:
    user = user_of(request)
    school_of(user)
    errors: dict[str, str] = {}
    if teacher_id is not None:
        try:
            return RedirectResponse(f"/school/teachers/{UUID(teacher_id.strip())}/transfer",
                                    status_code=303)
        except ValueError:
            errors["teacher_id"] = "教师编号格式不正确"
    return render(request, "transfer_start.html", {
        "title": "省内调动（调入）", "values": {"teacher_id": teacher_id or ""},
        "errors": errors}, status=422 if errors else 200, user=user)


async def _transfer_page(request: Request, user: Any, teacher_id: str, *,
                         values: dict[str, str] | None = None,
                         errors: FormErrors | None = None, status: int = 200) -> Response:
    teacher, note = None, ""
    try:
        teacher = await backends(request).intake.get_teacher(user.token, teacher_id)
    except (NotAllowed, NotFoundThere):
        note = "该教师目前不属于本校，其信息不可见；提交后由审核人员核对证明材料。"
    errors = errors or FormErrors()
    return render(request, "transfer.html", {
        "title": "省内调动（调入）", "teacher_id": teacher_id, "teacher": teacher, "note": note,
        "values": values or {"to_school_code": user.school_code or ""},
        "errors": errors.fields, "form_errors": errors.general,
    }, status=status, user=user)


@router.get("/teachers/{teacher_id}/transfer")
async def transfer_form(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    school_of(user)
    return await _transfer_page(request, user, str(teacher_id))


@router.post("/teachers/{teacher_id}/transfer")
async def transfer(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    school_of(user)
    form = await checked_form(request)
    values = {"to_school_code": text(form, "to_school_code")}
    try:
        sha = await _proof_sha(request, user.token, form)
        await backends(request).intake.transfer(user.token, str(teacher_id),
                                                values["to_school_code"], sha)
    except BackendError as exc:
        return await _transfer_page(request, user, str(teacher_id), values=values,
                                    errors=_proof_errors(exc), status=exc.status)
    return redirect("/school", "已提交省内调动，等待审核")


def _return_page(request: Request, user: Any, *, values: dict[str, str],
                 errors: FormErrors | None = None, status: int = 200) -> Response:
    errors = errors or FormErrors()
    return render(request, "return_to_post.html", {
        "title": "返岗", "values": values, "errors": errors.fields,
        "form_errors": errors.general}, status=status, user=user)


@router.get("/return-to-post")
async def return_form(request: Request) -> Response:
    user = user_of(request)
    code = school_of(user)
    return _return_page(request, user, values={"teacher_id": "", "school_code": code})


@router.post("/return-to-post")
async def return_to_post(request: Request) -> Response:
    user = user_of(request)
    school_of(user)
    form = await checked_form(request)
    values = {"teacher_id": text(form, "teacher_id"), "school_code": text(form, "school_code")}
    try:
        teacher_id = str(UUID(values["teacher_id"]))
    except ValueError:
        return _return_page(request, user, values=values, status=422,
                            errors=FormErrors({"teacher_id": "教师编号格式不正确"}))
    try:
        sha = await _proof_sha(request, user.token, form)
        await backends(request).intake.return_to_post(user.token, teacher_id,
                                                      values["school_code"], sha)
    except BackendError as exc:
        return _return_page(request, user, values=values, errors=_proof_errors(exc),
                            status=exc.status)
    return redirect("/school", "已提交返岗，等待审核")


# ------------------------------------------------------------------------------ import


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
    return _download(found.content, found.media_type, found.disposition)


def _download(content: bytes, media: str, disposition: str | None) -> Response:
    headers = {"Content-Disposition": disposition} if disposition else {}
    return Response(content, media_type=media, headers=headers)


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
    return _download(found.content, found.media_type, found.disposition)


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
