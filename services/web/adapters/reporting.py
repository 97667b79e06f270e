"""Reporting's HTTP API as the pages use it: reports as JSON (laid out by the dashboard page),
the progress series (its line chart), report downloads, and the confirmation table."""

from __future__ import annotations

from typing import Any

from services.web.adapters.http import Backend
from services.web.adapters.intake import Download, download_of


class ReportingClient:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def report(self, token: str, name: str, as_of: str | None = None,
                     **scope: str | None) -> dict[str, Any]:
        params = {"format": "json", **{k: v for k, v in scope.items() if v}}
        if as_of:
            params["as_of"] = as_of
        return await self.backend.json("GET", f"/v1/reports/{name}", token, long=True,
                                       params=params)

    async def progress(self, token: str, until: str | None = None, step_days: int = 7,
                       points: int = 8) -> dict[str, Any]:
        params: dict[str, Any] = {"step_days": step_days, "points": points}
        if until:
            params["until"] = until
        return await self.backend.json("GET", "/v1/progress", token, long=True, params=params)

    async def report_file(self, token: str, name: str, fmt: str,
                          as_of: str | None = None) -> Download:
        # staff open these in Excel: Chinese column titles in a CSV's header row
        params = {"format": fmt, "header": "title", **({"as_of": as_of} if as_of else {})}
        return download_of(await self.backend.call("GET", f"/v1/reports/{name}", token,
                                                   long=True, params=params))

    async def confirmation(self, token: str, school_code: str, fmt: str) -> Download:
        return download_of(await self.backend.call(
            "GET", f"/v1/confirmation/{school_code}.{fmt}", token, long=True))

    async def mark_returned(self, token: str, school_code: str,
                            signed: bool) -> dict[str, Any]:
        return await self.backend.json("POST", f"/v1/confirmation/{school_code}/returned",
                                       token, json={"signed": signed})

    # ------------------------------------------------------------------ chasing (催报)

    async def rounds(self, token: str) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = await self.backend.json("GET", "/v1/rounds", token)
        return answer

    async def open_round(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/rounds", token, json=body)

    async def laggards(self, token: str, level: str, round_id: str | None = None
                       ) -> dict[str, Any]:
        params = {"level": level, **({"round_id": round_id} if round_id else {})}
        return await self.backend.json("GET", "/v1/laggards", token, long=True, params=params)

    async def send_notices(self, token: str, level: str, unit_codes: list[str], message: str,
                           round_id: str | None) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/notices", token, long=True, json={
            "level": level, "unit_codes": unit_codes, "message": message,
            "round_id": round_id})

    async def sent_notices(self, token: str, round_id: str | None = None
                           ) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = await self.backend.json(
            "GET", "/v1/notices", token, params={"round_id": round_id} if round_id else {})
        return answer

    async def my_notices(self, token: str) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = await self.backend.json("GET", "/v1/me/notices", token)
        return answer

    async def read_notice(self, token: str, notice_id: str) -> dict[str, Any]:
        return await self.backend.json("POST", f"/v1/notices/{notice_id}/read", token)
