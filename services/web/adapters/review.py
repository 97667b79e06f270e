"""Review's HTTP API as the pages use it: the queue, one record, decisions, spot checks."""

from __future__ import annotations

from typing import Any

from services.web.adapters.http import Backend


class ReviewClient:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def queue(self, token: str, *, level: str | None = None, status: str | None = None,
                    school_code: str | None = None, limit: int = 50,
                    offset: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        for key, value in (("level", level), ("status", status), ("school_code", school_code)):
            if value:
                params[key] = value
        return await self.backend.json("GET", "/v1/queue", token, params=params)

    async def teacher(self, token: str, teacher_id: str) -> dict[str, Any]:
        return await self.backend.json("GET", f"/v1/teachers/{teacher_id}", token)

    async def history(self, token: str, teacher_id: str) -> dict[str, Any]:
        return await self.backend.json("GET", f"/v1/teachers/{teacher_id}/history", token)

    async def decide(self, token: str, teacher_id: str, record_version: int, decision: str,
                     reason: str = "", comment: str = "") -> dict[str, Any]:
        return await self.backend.json(
            "POST", f"/v1/teachers/{teacher_id}/decisions", token,
            json={"record_version": record_version, "decision": decision, "reason": reason,
                  "comment": comment})

    async def resubmit(self, token: str, teacher_id: str, record_version: int,
                       note: str) -> dict[str, Any]:
        return await self.backend.json(
            "POST", f"/v1/teachers/{teacher_id}/resubmit", token,
            json={"record_version": record_version, "note": note})

    async def decide_many(self, token: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/decisions", token, long=True,
                                       json={"decisions": items})

    async def draw(self, token: str, county_code: str, size: int | None,
                   percent: float | None, seed: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"county_code": county_code}
        for key, value in (("size", size), ("percent", percent), ("seed", seed)):
            if value is not None:
                body[key] = value
        return await self.backend.json("POST", "/v1/spot-checks", token, json=body)

    async def spot_checks(self, token: str, county_code: str) -> dict[str, Any]:
        return await self.backend.json("GET", "/v1/spot-checks", token,
                                       params={"county_code": county_code})

    async def spot_check(self, token: str, sample_id: str) -> dict[str, Any]:
        return await self.backend.json("GET", f"/v1/spot-checks/{sample_id}", token)

    async def record_result(self, token: str, sample_id: str, teacher_id: str, outcome: str,
                            fields: list[str], note: str) -> dict[str, Any]:
        return await self.backend.json(
            "POST", f"/v1/spot-checks/{sample_id}/results", token,
            json={"teacher_id": teacher_id, "outcome": outcome, "fields": fields,
                  "note": note})

    async def error_rates(self, token: str, county_code: str | None = None,
                          city_code: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("county_code", county_code), ("city_code", city_code))
                  if v}
        return await self.backend.json("GET", "/v1/spot-checks/error-rates", token,
                                       params=params)

    async def quality(self, token: str, *, county_code: str | None = None,
                      city_code: str | None = None, as_of: str | None = None
                      ) -> dict[str, Any]:
        params = {k: v for k, v in (("county_code", county_code), ("city_code", city_code),
                                    ("as_of", as_of)) if v}
        return await self.backend.json("GET", "/v1/quality", token, params=params)
