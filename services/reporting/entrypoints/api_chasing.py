"""Reporting's chasing API (催报) under /v1: collection rounds, laggards, reminders.

    POST /v1/rounds                  {title, entry_due, report_due, entry_target, review_target}
    GET  /v1/rounds
    GET  /v1/laggards?level=city|county|school&round_id=&city=&county=
    POST /v1/notices                 {level, unit_codes, message, round_id}
    GET  /v1/notices?round_id=       what was sent inside the caller's region
    GET  /v1/me/notices?unread=      reminders addressed to the caller's own unit
    POST /v1/notices/{notice_id}/read

parse -> handler (service_layer/chasing.py) -> JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.reporting.service_layer import chasing
from shared.auth import CurrentPrincipal
from shared.contracts.events import UnitLevel

router = APIRouter(prefix="/v1", tags=["chasing"])


def deps_of(request: Request) -> chasing.ChasingDeps:
    deps: chasing.ChasingDeps = request.app.state.runtime.extras["chasing"]
    return deps


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=100)
    entry_due: date
    report_due: date
    entry_target: float = 1.0
    review_target: float = 1.0


class NoticesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: UnitLevel
    unit_codes: list[str] = Field(max_length=5000)
    message: str = Field(default="", max_length=2000)
    round_id: str | None = None


@router.post("/rounds", status_code=201, summary="Open a collection round with its deadlines")
async def post_round(body: RoundIn, request: Request,
                     principal: CurrentPrincipal) -> dict[str, Any]:
    return await chasing.open_round(deps_of(request), principal, title=body.title,
                                    entry_due=body.entry_due, report_due=body.report_due,
                                    entry_target=body.entry_target,
                                    review_target=body.review_target)


@router.get("/rounds", summary="Collection rounds, the newest first")
async def get_rounds(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return await chasing.rounds(deps_of(request))


@router.get("/laggards", summary="Cities, counties or schools behind the round's targets")
async def get_laggards(request: Request, principal: CurrentPrincipal,
                       level: UnitLevel = "county", round_id: str | None = None,
                       city: str | None = None, county: str | None = None) -> dict[str, Any]:
    return await chasing.find_laggards(deps_of(request), principal, level=level,
                                       round_id=round_id, city=city, county=county)


@router.post("/notices", status_code=201, summary="Send reminders (催报通知) to lagging units")
async def post_notices(body: NoticesIn, request: Request,
                       principal: CurrentPrincipal) -> dict[str, Any]:
    return await chasing.send_notices(deps_of(request), principal, level=body.level,
                                      unit_codes=body.unit_codes, message=body.message,
                                      round_id=body.round_id)


@router.get("/notices", summary="Reminders sent inside your region, and whether they were read")
async def get_notices(request: Request, principal: CurrentPrincipal,
                      round_id: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    return await chasing.sent_notices(deps_of(request), principal, round_id=round_id,
                                      limit=limit)


@router.get("/me/notices", summary="Reminders addressed to your own unit")
async def get_my_notices(request: Request, principal: CurrentPrincipal, unread: bool = True,
                         limit: Annotated[int, Query(ge=1, le=200)] = 20
                         ) -> list[dict[str, Any]]:
    return await chasing.my_notices(deps_of(request), principal, unread_only=unread,
                                    limit=limit)


@router.post("/notices/{notice_id}/read", summary="Mark a reminder read (the first counts)")
async def post_read(notice_id: str, request: Request,
                    principal: CurrentPrincipal) -> dict[str, Any]:
    return await chasing.read_notice(deps_of(request), principal, notice_id)
