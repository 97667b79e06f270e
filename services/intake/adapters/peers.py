"""Intake's HTTP clients for its peers: review's queue and reporting's reports (for /v1/me/pending).

Services talk over HTTP, never through each other's tables. Intake calls with a short-lived
service token it mints itself (role `service`, no account: accepted in production too, since
only holders of TMIS_JWT_SECRET can mint one). URLs come from TMIS_REVIEW_URL and
TMIS_REPORTING_URL (`tmis up` sets them); a peer without a URL, or one that does not answer in
a few seconds or answers with an error, yields None, which /v1/me/pending shows as unavailable.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from shared.auth import Role, mint_token
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)
TIMEOUT_SECONDS = 3.0


Peer = str | httpx.AsyncClient | None
"""A peer's base URL (a client per call), a client to use (tests: ASGI), or None (absent)."""


class HttpPeers:
    def __init__(self, settings: Settings, review: Peer, reporting: Peer) -> None:
        self.settings = settings
        self.review = review
        self.reporting = reporting

    @classmethod
    def from_env(cls, settings: Settings) -> HttpPeers:
        return cls(settings, os.environ.get("TMIS_REVIEW_URL") or None,
                   os.environ.get("TMIS_REPORTING_URL") or None)

    def _headers(self) -> dict[str, str]:
        token = mint_token(self.settings, Role.SERVICE, subject="intake:pending",
                           ttl_seconds=60)
        return {"Authorization": f"Bearer {token}"}

    async def _get(self, peer: Peer, path: str,
                   params: dict[str, str]) -> dict[str, Any] | None:
        if peer is None:
            return None
        try:
            if isinstance(peer, str):
                async with httpx.AsyncClient(base_url=peer.rstrip("/"), timeout=TIMEOUT_SECONDS,
                                             trust_env=False) as client:
                    r = await client.get(path, params=params, headers=self._headers())
            else:
                r = await peer.get(path, params=params, headers=self._headers(),
                                   timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            log.warning("peer_unavailable", path=path, error=type(exc).__name__)
            return None
        if r.status_code != 200:
            log.warning("peer_refused", path=path, status=r.status_code)
            return None
        try:
            body = r.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def review_queue(self, params: dict[str, str]) -> dict[str, Any] | None:
        return await self._get(self.review, "/v1/queue", params)

    async def confirmation(self, params: dict[str, str]) -> dict[str, Any] | None:
        return await self._get(self.reporting, "/v1/reports/confirmation",
                               {**params, "format": "json"})
