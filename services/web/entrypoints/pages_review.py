"""The reviewer's pages (school level: the school administrator; county level: the county
administrator): the queue oldest first with bulk approve / reject, one record with its checks,
diff and proof document, and spot-check samples."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.web.domain.forms import chinese_message, map_problems
from services.web.domain.labels import (
    CHECKS,
    REVIEW_KIND,
    REVIEW_LEVEL,
    SEVERITY,
    field_label,
    status_label,
    value_label,
)
from services.web.domain.navigation import review_level
from services.web.domain.views import parse_selection, queue_rows, rejection_text
from services.web.entrypoints.pages_chasing import home_notices
from services.web.entrypoints.support import (
    backends,
    checked_form,
    redirect,
    render,
    text,
    user_of,
)
from services.web.service_layer.errors import (
    BackendError,
    Conflicting,
    Invalid,
    NotAllowed,
    NotFoundThere,
)
from shared.paging import Offset

router = APIRouter(include_in_schema=False)
TeacherId = Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$")]
PAGE = 50
STATUS_OPTIONS = (("", "待本级审核"), ("all", "全部"), ("submitted", "待学校审核"),
                  ("school_approved", "待县级审核"), ("rejected", "已退回"),
                  ("county_approved", "审核完成"))
REASON_REQUIRED = "退回须填写原因"
WHAT = {"approved": "通过", "rejected": "退回", "review_completed": "审核完成"}


async def _queue_page(request: Request, *, status: str = "", school_code: str = "",
                      offset: int = 0, errors: dict[str, str] | None = None,
                      reason: str = "", http_status: int = 200) -> Response:
    user = user_of(request)
    level = review_level(user.role)
    query_status = None if status in ("", "all") else status
    query_level = level if status == "" else None
    queue = await backends(request).review.queue(
        user.token, level=query_level, status=query_status, school_code=school_code or None,
        limit=PAGE, offset=offset)
    total = int(queue.get("total", 0))
    return render(request, "review_queue.html", {
        "notices": await home_notices(request, user),
        "title": REVIEW_LEVEL.get(level or "", "审核") + "队列" if level else "审核队列",
        "rows": queue_rows(queue.get("items", [])), "total": total, "offset": offset,
        "page": PAGE, "status": status, "school_code": school_code,
        "status_options": STATUS_OPTIONS, "may_decide": level is not None,
        "rebuilding": queue.get("rebuilding", False), "errors": errors or {},
        "reason": reason, "prev": max(offset - PAGE, 0) if offset else None,
        "next": offset + PAGE if offset + PAGE < total else None,
    }, status=http_status, user=user)


@router.get("/review")
async def queue_page(request: Request, status: str = "", school_code: str = "",
                     offset: Offset = 0) -> Response:
    if status not in dict(STATUS_OPTIONS):
        status = ""
    return await _queue_page(request, status=status, school_code=school_code.strip(),
                             offset=offset)


def _failure_message(result: dict[str, Any]) -> str:
    error = result.get("error") or {}
    return chinese_message(str(error.get("message", "")))


def _summary(answer: dict[str, Any]) -> tuple[str, str]:
    text_ = (f"通过 {answer.get('approved', 0)} 条，退回 {answer.get('rejected', 0)} 条，"
             f"失败 {answer.get('failed', 0)} 条")
    failures = [r for r in answer.get("results", []) if r.get("status") != 200]
    if failures:
        reasons = "；".join(
            f"{r.get('teacher_id')}：{_failure_message(r)}" for r in failures[:10])
        text_ += f"。失败原因：{reasons}"
    return text_, "error" if failures else "ok"


@router.post("/review")
async def decide_many(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    decision = text(form, "decision")
    reason = text(form, "reason")
    selected, _bad = parse_selection([v for v in form.getlist("selected")
                                      if isinstance(v, str)])
    if decision not in ("approve", "reject"):
        return redirect("/review", "请选择通过或退回", "error")
    if not selected:
        return redirect("/review", "请先勾选要审核的记录", "error")
    if decision == "reject" and not reason:
        return await _queue_page(request, errors={"reason": REASON_REQUIRED},
                                 http_status=422)
    items = [{"teacher_id": t, "record_version": v, "decision": decision, "reason": reason}
             for t, v in selected]
    answer = await backends(request).review.decide_many(user.token, items)
    message, kind = _summary(answer)
    return redirect("/review", message, kind)


# ---------------------------------------------------------------------------- one record


def _record_rows(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(field_label(k), value_label(v)) for k, v in record.items()]


async def _teacher_page(request: Request, teacher_id: str, *,
                        errors: dict[str, str] | None = None, form_errors: list[str] | None = None,
                        values: dict[str, str] | None = None, status: int = 200) -> Response:
    user = user_of(request)
    b = backends(request)
    item = await b.review.teacher(user.token, teacher_id)
    history: list[dict[str, Any]] = []
    try:
        history = (await b.review.history(user.token, teacher_id)).get("decisions", [])
    except BackendError:
        pass
    level = review_level(user.role)
    proof: dict[str, Any] = item.get("proof") or {}
    return render(request, "review_teacher.html", {
        "title": f"审核：{(item.get('record') or {}).get('name', '')}", "item": item,
        "record_rows": _record_rows(item.get("record") or {}),
        "status_label": status_label(item.get("status")),
        "kind_label": REVIEW_KIND.get(str(item.get("kind")), item.get("kind")),
        "awaiting_label": REVIEW_LEVEL.get(str(item.get("awaiting_level")), ""),
        "reject_reason": rejection_text(item.get("rejected")),
        "checks": [{**c, "label": CHECKS.get(c.get("check", ""), c.get("check", "")),
                    "severity_label": SEVERITY.get(c.get("severity", ""), ""),
                    "message": chinese_message(str(c.get("message") or ""))}
                   for c in item.get("checks", [])],
        "diff": [{"field": field_label(d.get("field", "")), "old": value_label(d.get("old")),
                  "new": value_label(d.get("new"))} for d in item.get("diff", [])],
        "proof": proof or None, "proof_is_pdf": proof.get("media_type") == "application/pdf",
        "history": [{**h, "what_label": WHAT.get(str(h.get("what")), h.get("what")),
                     "level_label": REVIEW_LEVEL.get(str(h.get("level")), ""),
                     "when_text": str(h.get("when") or "")[:16].replace("T", " ")}
                    for h in history],
        "may_decide": level is not None and item.get("awaiting_level") == level,
        "errors": errors or {}, "form_errors": form_errors or [], "values": values or {},
    }, status=status, user=user)


@router.get("/review/teachers/{teacher_id}")
async def teacher_page(request: Request, teacher_id: TeacherId) -> Response:
    return await _teacher_page(request, teacher_id)


@router.post("/review/teachers/{teacher_id}")
async def decide_one(request: Request, teacher_id: TeacherId) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    decision, reason, comment = text(form, "decision"), text(form, "reason"), text(form, "comment")
    values = {"reason": reason, "comment": comment}
    version = text(form, "record_version")
    if decision not in ("approve", "reject") or not version.isdigit():
        return await _teacher_page(request, teacher_id, form_errors=["请选择通过或退回"],
                                   values=values, status=422)
    if decision == "reject" and not reason:
        return await _teacher_page(request, teacher_id, errors={"reason": REASON_REQUIRED},
                                   values=values, status=422)
    try:
        await backends(request).review.decide(user.token, teacher_id, int(version), decision,
                                              reason, comment)
    except (Invalid, Conflicting) as exc:
        errs = map_problems(exc.problems, frozenset({"reason", "comment"}), exc.message)
        if isinstance(exc, Conflicting):
            errs.general[:] = ["该记录已有变化，请查看最新内容后再审核"
                               f"（{chinese_message(exc.message)}）"]
        return await _teacher_page(request, teacher_id, errors=errs.fields,
                                   form_errors=errs.general, values=values,
                                   status=exc.status)
    return redirect("/review", "已通过" if decision == "approve" else "已退回，学校将看到退回原因")


@router.get("/documents/{sha256}")
async def document(request: Request,
                   sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]) -> Response:
    """A proof document, fetched from intake with the user's token (shown inline)."""
    user = user_of(request)
    found = await backends(request).intake.document(user.token, sha256)
    return Response(found.content, media_type=found.media_type, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline"})


# ---------------------------------------------------------------------------- spot checks


def _number(raw: str, kind: type[int] | type[float]) -> int | float | None:
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(raw) from None


async def _spot_page(request: Request, *, county_code: str, values: dict[str, str],
                     errors: dict[str, str] | None = None, form_errors: list[str] | None = None,
                     status: int = 200) -> Response:
    user = user_of(request)
    samples: list[dict[str, Any]] = []
    note = ""
    rates: dict[str, Any] = {}
    if county_code:
        try:
            samples = (await backends(request).review.spot_checks(user.token, county_code)
                       ).get("spot_checks", [])
            rates = await backends(request).review.error_rates(user.token, county_code)
        except (Invalid, NotFoundThere, NotAllowed) as exc:
            note = chinese_message(exc.message)
    return render(request, "spot_checks.html", {
        "title": "抽查", "county_code": county_code, "values": values, "samples": samples,
        "rates": rates, "note": note, "errors": errors or {},
        "form_errors": form_errors or []}, status=status, user=user)


@router.get("/review/spot-checks")
async def spot_checks(request: Request, county_code: str = "") -> Response:
    user = user_of(request)
    county = county_code.strip() or user.county_code or ""
    return await _spot_page(request, county_code=county,
                            values={"county_code": county, "size": "", "percent": "",
                                    "seed": ""})


@router.post("/review/spot-checks")
async def draw(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    values = {k: text(form, k) for k in ("county_code", "size", "percent", "seed")}
    errors: dict[str, str] = {}
    numbers: dict[str, Any] = {}
    for name, kind in (("size", int), ("percent", float), ("seed", int)):
        try:
            numbers[name] = _number(values[name], kind)
        except ValueError:
            errors[name] = "请输入数字"
    if not errors and numbers["size"] is None and numbers["percent"] is None:
        errors["size"] = "请填写抽取数量或抽取比例"
    if not values["county_code"]:
        errors["county_code"] = "必填"
    if errors:
        return await _spot_page(request, county_code=values["county_code"], values=values,
                                errors=errors, status=422)
    try:
        drawn = await backends(request).review.draw(user.token, values["county_code"],
                                                    numbers["size"], numbers["percent"],
                                                    numbers["seed"])
    except (Invalid, Conflicting) as exc:
        errs = map_problems(exc.problems, frozenset(values), exc.message)
        return await _spot_page(request, county_code=values["county_code"], values=values,
                                errors=errs.fields, form_errors=errs.general,
                                status=exc.status)
    return redirect(f"/review/spot-checks?county_code={values['county_code']}",
                    f"已抽取 {len(drawn.get('sample', []))} 条（总体 "
                    f"{drawn.get('population_size', 0)} 条）")


@router.get("/review/spot-checks/{sample_id}")
async def spot_check(request: Request,
                     sample_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> Response:
    user = user_of(request)
    return await _sample_page(request, user, sample_id)


async def _sample_page(request: Request, user: Any, sample_id: str, *,
                       errors: dict[str, str] | None = None, status: int = 200) -> Response:
    sample = await backends(request).review.spot_check(user.token, sample_id)
    members = [{**m, "status_label": status_label(m.get("status")),
                "result_label": _result_label(m.get("result"))}
               for m in sample.get("members", [])]
    return render(request, "spot_check.html", {
        "title": "抽查样本", "sample": sample, "members": members,
        "fields": [(f, field_label(f)) for f in CHECKABLE], "errors": errors or {}},
        status=status, user=user)


# The items a checker can find wrong (review's CHECKABLE_FIELDS), in the record's order.
CHECKABLE = ("name", "id_number", "gender", "birth_date", "ethnicity", "political_status",
             "post_status", "is_fulltime_teacher", "stage_taught", "hire_date",
             "highest_education", "professional_title", "teacher_qualification", "school_code")


def _result_label(result: dict[str, Any] | None) -> str:
    if not result:
        return "未登记"
    if result.get("outcome") == "correct":
        return "核对无误"
    wrong = "、".join(field_label(f) for f in result.get("fields", []))
    return f"发现错误：{wrong}" + (f"（{result['note']}）" if result.get("note") else "")


@router.post("/review/spot-checks/{sample_id}/results")
async def record_result(request: Request,
                        sample_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> Response:
    """抽查结果 for one sampled record: correct, or the fields found wrong."""
    user = user_of(request)
    form = await checked_form(request)
    teacher_id, outcome = text(form, "teacher_id"), text(form, "outcome")
    fields = [f for f in form.getlist("fields") if isinstance(f, str) and f in CHECKABLE]
    if outcome not in ("correct", "error_found"):
        return await _sample_page(request, user, sample_id, status=422,
                                  errors={teacher_id: "请选择核对结果"})
    try:
        await backends(request).review.record_result(user.token, sample_id, teacher_id,
                                                     outcome, fields, text(form, "note"))
    except Invalid as exc:
        message = ("请勾选发现错误的信息项" if outcome == "error_found" and not fields
                   else chinese_message(exc.problems[0]["msg"] if exc.problems
                                        else exc.message))
        return await _sample_page(request, user, sample_id, status=422,
                                  errors={teacher_id: message})
    return redirect(f"/review/spot-checks/{sample_id}", "已登记抽查结果")


# ---------------------------------------------------------------------------- data quality


@router.get("/quality")
async def quality_page(request: Request,
                       county_code: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
                       as_of: Annotated[str, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = ""
                       ) -> Response:
    """数据质量: per county (or per school of one county, with suspected duplicates)."""
    user = user_of(request)
    try:
        data = await backends(request).review.quality(
            user.token, county_code=county_code or None, as_of=as_of or None)
    except (Invalid, NotAllowed) as exc:
        return render(request, "quality.html", {
            "title": "数据质量", "data": {}, "note": chinese_message(exc.message),
            "county_code": county_code, "as_of": as_of}, status=exc.status, user=user)
    return render(request, "quality.html", {
        "title": "数据质量", "data": data, "note": "", "county_code": county_code,
        "as_of": as_of, "percent": _percent}, user=user)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"
