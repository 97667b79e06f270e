"""催报 pages: the province opens a collection round; province, city and county staff see the
units behind it and remind them in one click; the reminded unit's administrators see the
reminder on their home page until they read it.

    GET  /chasing?level=&round_id=   the laggards, the reminders sent and their reading
    POST /chasing/rounds             open a round (province)
    POST /chasing/notices            remind the units ticked
    POST /notices/{notice_id}/read   mark a reminder read (back to the page it was read on)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.web.domain.forms import chinese_message
from services.web.domain.session import SessionUser
from services.web.entrypoints.support import (
    backends,
    checked_form,
    redirect,
    render,
    text,
    user_of,
)
from services.web.service_layer.errors import BackendError, Invalid, NotAllowed, NotFoundThere

router = APIRouter(include_in_schema=False)

LEVELS = {"city": "市州", "county": "县区", "school": "学校"}
# The levels each role reminds (the ones below its own).
_LEVELS_OF = {"province_admin": ("city", "county", "school"), "service": ("city", "county",
                                                                          "school"),
              "city_admin": ("county", "school"), "county_admin": ("school",)}
RECEIVERS = frozenset({"school_admin", "county_admin", "city_admin"})


async def home_notices(request: Request, user: SessionUser) -> list[dict[str, Any]]:
    """Unread reminders to the user's own unit, for the banner of their home page; a reporting
    service that does not answer hides the banner rather than the page."""
    if user.role not in RECEIVERS:
        return []
    try:
        return await backends(request).reporting.my_notices(user.token)
    except BackendError as exc:
        if exc.status == 401:
            raise
        return []


@router.get("/chasing")
async def chasing_page(request: Request,
                       level: Annotated[str, Query(pattern=r"^(city|county|school)?$")] = "",
                       round_id: Annotated[str, Query(pattern=r"^([0-9a-f]{32})?$")] = ""
                       ) -> Response:
    user = user_of(request)
    levels = _LEVELS_OF.get(user.role, ())
    if not levels:
        return render(request, "chasing.html", {
            "title": "催报", "note": "催报由省、市、县管理员进行。", "levels": (), "data": {},
            "rounds": [], "sent": []}, status=403, user=user)
    chosen = level if level in levels else levels[0]
    client = backends(request).reporting
    rounds = await client.rounds(user.token)
    data = await client.laggards(user.token, chosen, round_id or None)
    sent = await client.sent_notices(user.token, (data.get("round") or {}).get("round_id"))
    return render(request, "chasing.html", {
        "title": "催报", "note": "", "levels": [(lv, LEVELS[lv]) for lv in levels],
        "level": chosen, "level_name": LEVELS[chosen], "data": data, "rounds": rounds,
        "sent": sent, "may_open": user.role in ("province_admin", "service"),
        "percent": _percent}, user=user)


@router.post("/chasing/rounds")
async def open_round(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    body = {"title": text(form, "title"), "entry_due": text(form, "entry_due"),
            "report_due": text(form, "report_due")}
    for key in ("entry_target", "review_target"):
        if text(form, key):
            try:
                body[key] = str(float(text(form, key)) / 100)
            except ValueError:
                return redirect("/chasing", "目标比例请填写数字（百分比）", "error")
    try:
        await backends(request).reporting.open_round(user.token, body)
    except (Invalid, NotAllowed) as exc:
        return redirect("/chasing", _problem_text(exc), "error")
    return redirect("/chasing", f"已设置采集轮次：{body['title']}")


@router.post("/chasing/notices")
async def send_notices(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    level = text(form, "level")
    codes = [c for c in form.getlist("unit_codes") if isinstance(c, str) and c]
    back = f"/chasing?level={level}" if level in LEVELS else "/chasing"
    if not codes:
        return redirect(back, "请勾选要催报的单位", "error")
    try:
        answer = await backends(request).reporting.send_notices(
            user.token, level, codes, text(form, "message"), text(form, "round_id") or None)
    except (Invalid, NotAllowed, NotFoundThere) as exc:
        return redirect(back, _problem_text(exc), "error")
    return redirect(back, f"已向 {answer.get('sent', len(codes))} 个单位发送催报通知")


@router.post("/notices/{notice_id}/read")
async def read_notice(request: Request,
                      notice_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    back = text(form, "back")
    back = back if back.startswith("/") and not back.startswith("//") else "/"
    try:
        await backends(request).reporting.read_notice(user.token, notice_id)
    except (NotAllowed, NotFoundThere) as exc:
        return redirect(back, chinese_message(exc.message), "error")
    return redirect(back, "已阅读催报通知")


def _problem_text(exc: BackendError) -> str:
    return chinese_message(exc.problems[0]["msg"] if exc.problems else exc.message)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"
