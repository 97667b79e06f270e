"""Orgsync's HTTP API as the pages use it: plan and apply an uploaded batch, pending ones."""

from __future__ import annotations

from typing import Any

from services.web.adapters.http import Backend


def _media(filename: str) -> str:
    return "application/json" if filename.lower().endswith(".json") else "text/csv"


class OrgsyncClient:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def plan(self, token: str, filename: str, content: bytes) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/batches/plan", token, long=True,
                                       files={"file": (filename, content, _media(filename))})

    async def apply(self, token: str, filename: str, content: bytes) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/batches/apply", token, long=True,
                                       files={"file": (filename, content, _media(filename))})

    async def pending(self, token: str) -> dict[str, Any]:
        return await self.backend.json("GET", "/v1/pending", token)

    async def batches(self, token: str, status: str | None = None) -> dict[str, Any]:
        params = {"status": status} if status else {}
        return await self.backend.json("GET", "/v1/batches", token, params=params)
