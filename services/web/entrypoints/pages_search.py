"""查找教师: one search page for every staff account, over intake's GET /v1/teachers/search;
rows and their links come from services/web/domain/finding.py. The query is posted, never put
in the address: an ID number must not land in access logs or the browser's history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.domain.finding import rows_of
from services.web.entrypoints.support import (
    backends,
    checked_form,
    errors_of,
    render,
    text,
    user_of,
)
from services.web.service_layer.errors import BackendError

router = APIRouter(include_in_schema=False)
PAGE = 50
MAX_OFFSET = 100_000


@router.get("/search")
async def search_form(request: Request) -> Response:
    user = user_of(request)
    return render(request, "search.html", {"title": "查找教师", "values": {},
                                           "searched": False}, user=user)


@router.post("/search")
async def search(request: Request) -> Response:
    user = user_of(request)
    form = await checked_form(request)
    q = text(form, "q")[:64]
    include_left = text(form, "include_left") == "true"
    raw_offset = text(form, "offset")
    offset = min(int(raw_offset), MAX_OFFSET) if raw_offset.isdigit() else 0
    values = {"q": q, "include_left": "true" if include_left else ""}
    context = {"title": "查找教师", "values": values, "searched": True, "rows": [],
               "offset": offset, "more": False, "prev_offset": max(offset - PAGE, 0),
               "next_offset": offset + PAGE}
    try:
        hits = await backends(request).intake.search_teachers(
            user.token, q, include_left=include_left, limit=PAGE + 1, offset=offset)
    except BackendError as exc:
        errors = errors_of(exc, frozenset({"q"}))
        return render(request, "search.html", {**context, "searched": False,
                                               "errors": errors.fields,
                                               "form_errors": errors.general},
                      status=exc.status, user=user)
    context.update(rows=rows_of(user, hits[:PAGE]), more=len(hits) > PAGE)
    return render(request, "search.html", context, user=user)
