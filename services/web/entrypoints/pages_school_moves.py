"""省内调动 and 返岗 by the school: the proof document goes to intake first (POST
/v1/documents), then the transfer or the return to post names it by its sha256."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.web.domain.finding import choose
from services.web.domain.forms import FormErrors, chinese_message
from services.web.entrypoints.support import (
    backends,
    checked_form,
    errors_of,
    read_upload,
    redirect,
    render,
    school_of,
    text,
    upload,
    user_of,
)
from services.web.service_layer.errors import BackendError, Invalid, NotAllowed, NotFoundThere

router = APIRouter(prefix="/school", include_in_schema=False)
TeacherId = UUID


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
    errors = errors_of(exc, PROOF_NAMES)
    if "proof_sha256" in errors.fields:
        errors.fields["proof"] = errors.fields.pop("proof_sha256")
    if "file" in errors.fields:
        errors.fields["proof"] = errors.fields.pop("file")
    return errors


async def _teacher_named(request: Request, token: str, given: str, *, has_left: bool) -> str:
    """The teacher a form names, by 教师编号 (UUID) or by ID number (found through intake's
    search); a form error at teacher_id when it names nobody who fits."""
    given = given.strip()
    try:
        return str(UUID(given))
    except ValueError:
        pass
    if not given:
        raise FormRefused("请输入身份证号或教师编号")
    try:
        hits = await backends(request).intake.search_teachers(token, given, include_left=True)
    except Invalid as exc:
        raise FormRefused("身份证号格式不正确：" + chinese_message(
            exc.problems[0]["msg"] if exc.problems else exc.message)) from None
    hit = choose(hits, has_left=has_left)
    if hit is None:
        raise FormRefused("未找到已离岗的该人员，请核对身份证号" if has_left else
                          "未找到在岗的该人员，请核对身份证号")
    return str(hit["teacher_id"])


class FormRefused(Exception):
    """A form names no teacher that fits: shown at the teacher_id field."""


@router.get("/transfer")
async def transfer_start(request: Request,
                         teacher_id: Annotated[str | None, Query(max_length=64)] = None
                         ) -> Response:
    """The first step of a transfer; `teacher_id` (a 教师编号 from a link) skips it."""
    user = user_of(request)
    school_of(user)
    if teacher_id is not None:
        try:
            return RedirectResponse(f"/school/teachers/{UUID(teacher_id)}/transfer",
                                    status_code=303)
        except ValueError:
            return _start_page(request, user, teacher_id, "教师编号格式不正确")
    return _start_page(request, user, "")


@router.post("/transfer")
async def transfer_find(request: Request) -> Response:
    """The teacher to transfer in, named by ID number (posted: never in the address)."""
    user = user_of(request)
    school_of(user)
    given = text(await checked_form(request), "teacher_id")
    try:
        found = await _teacher_named(request, user.token, given, has_left=False)
    except FormRefused as refused:
        return _start_page(request, user, given, str(refused))
    return RedirectResponse(f"/school/teachers/{found}/transfer", status_code=303)


def _start_page(request: Request, user: Any, given: str, error: str = "") -> Response:
    return render(request, "transfer_start.html", {
        "title": "省内调动（调入）", "values": {"teacher_id": given},
        "errors": {"teacher_id": error} if error else {}},
        status=422 if error else 200, user=user)


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
async def return_form(request: Request,
                      teacher_id: Annotated[str, Query(max_length=64)] = "") -> Response:
    user = user_of(request)
    code = school_of(user)
    return _return_page(request, user, values={"teacher_id": teacher_id, "school_code": code})


@router.post("/return-to-post")
async def return_to_post(request: Request) -> Response:
    user = user_of(request)
    school_of(user)
    form = await checked_form(request)
    values = {"teacher_id": text(form, "teacher_id"), "school_code": text(form, "school_code")}
    try:
        teacher_id = await _teacher_named(request, user.token, values["teacher_id"],
                                          has_left=True)
    except FormRefused as refused:
        return _return_page(request, user, values=values, status=422,
                            errors=FormErrors({"teacher_id": str(refused)}))
    try:
        sha = await _proof_sha(request, user.token, form)
        await backends(request).intake.return_to_post(user.token, teacher_id,
                                                      values["school_code"], sha)
    except BackendError as exc:
        return _return_page(request, user, values=values, errors=_proof_errors(exc),
                            status=exc.status)
    return redirect("/school", "已提交返岗，等待审核")


# ---------------------------------------------------------------------------- departures

# 离岗: the reasons intake knows, and whether the page asks for a document with it.
LEAVE_REASONS = (("retired", "退休"), ("resigned", "辞职、解聘"), ("deceased", "死亡"),
                 ("left_province", "调出本省"))
PROOF_ASKED = frozenset({"left_province", "deceased"})


async def _leave_page(request: Request, user: Any, teacher_id: str, *,
                      values: dict[str, str] | None = None,
                      errors: FormErrors | None = None, status: int = 200) -> Response:
    teacher = await backends(request).intake.get_teacher(user.token, teacher_id)
    errors = errors or FormErrors()
    return render(request, "leave.html", {
        "title": "离岗登记", "teacher": teacher, "reasons": LEAVE_REASONS,
        "values": values or {"reason": "retired"}, "errors": errors.fields,
        "form_errors": errors.general}, status=status, user=user)


@router.get("/teachers/{teacher_id}/leave")
async def leave_form(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    school_of(user)
    return await _leave_page(request, user, str(teacher_id))


@router.post("/teachers/{teacher_id}/leave")
async def leave(request: Request, teacher_id: TeacherId) -> Response:
    """A teacher retired, resigned, died or moved out of the province: the reason, the
    school's note and (asked for a move out or a death) the document."""
    user = user_of(request)
    school_of(user)
    form = await checked_form(request)
    values = {"reason": text(form, "reason"), "note": text(form, "note")}
    if values["reason"] not in dict(LEAVE_REASONS):
        return await _leave_page(request, user, str(teacher_id), values=values, status=422,
                                 errors=FormErrors({"reason": "请选择离岗原因"}))
    try:
        sha = None
        if upload(form, "proof") is not None:
            sha = await _proof_sha(request, user.token, form)
        elif values["reason"] in PROOF_ASKED:
            raise Invalid("web", "请上传证明材料", [{"loc": "proof", "msg": "调出本省或死亡"
                                                   "须上传证明材料（调出证明、死亡证明）"}])
        await backends(request).intake.leave(user.token, str(teacher_id), values["reason"],
                                             values["note"], sha)
    except BackendError as exc:
        return await _leave_page(request, user, str(teacher_id), values=values,
                                 errors=_proof_errors(exc), status=exc.status)
    return redirect("/school", "已登记离岗")
