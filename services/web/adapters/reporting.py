"""Reporting's HTTP API as the pages use it: reports as JSON (laid out by the dashboard page),
report downloads, and the confirmation table."""

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

    async def report_file(self, token: str, name: str, fmt: str,
                          as_of: str | None = None) -> Download:
        params = {"format": fmt, **({"as_of": as_of} if as_of else {})}
        return download_of(await self.backend.call("GET", f"/v1/reports/{name}", token,
                                                   long=True, params=params))

    async def confirmation(self, token: str, school_code: str, fmt: str) -> Download:
        return download_of(await self.backend.call(
            "GET", f"/v1/confirmation/{school_code}.{fmt}", token, long=True))

    async def mark_returned(self, token: str, school_code: str,
                            signed: bool) -> dict[str, Any]:
        return await self.backend.json("POST", f"/v1/confirmation/{school_code}/returned",
                                       token, json={"signed": signed})
