"""The one way the web front calls a backend: the user's bearer token, a timeout, and any
non-2xx answer turned into a service_layer.errors exception."""

from __future__ import annotations

from typing import Any

import httpx

from services.web.service_layer.errors import Unavailable, error_for
from shared.logging import get_logger

log = get_logger(__name__)


class Backend:
    """A backend service at `base_url`, called through a shared httpx client."""

    def __init__(self, name: str, base_url: str, client: httpx.AsyncClient,
                 timeout: float) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.timeout = timeout

    async def call(self, method: str, path: str, token: str | None = None, *,
                   long: bool = False, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = self.timeout * (10 if long else 1)
        try:
            response = await self.client.request(method, f"{self.base_url}{path}",
                                                 headers=headers, timeout=timeout, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("backend_unreachable", backend=self.name, path=path,
                        error=type(exc).__name__)
            raise Unavailable(self.name, f"{self.name} 服务无响应 ({type(exc).__name__})") \
                from None
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            raise error_for(self.name, response.status_code, body)
        return response

    async def json(self, method: str, path: str, token: str | None = None,
                   **kwargs: Any) -> Any:
        return (await self.call(method, path, token, **kwargs)).json()

    async def healthy(self) -> bool:
        try:
            response = await self.client.get(f"{self.base_url}/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
