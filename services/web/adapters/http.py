"""The one way the web front calls a backend: the user's bearer token, a timeout, a few
retries while the backend is briefly away, and any non-2xx answer turned into a
service_layer.errors exception.

Retries (shared/http_retry.py, on stamina; bounded by `retry_seconds`, a person is waiting):
a read (GET/HEAD) is sent again after a 502/503/504, a refused, reset or timed-out connection;
a write only after a 502/503/504 (our services answer 503 when PostgreSQL or Kafka failed the
request, so it was not done) or a connection that never opened, and always with one
Idempotency-Key for all its attempts (the caller's, or one made here), which intake honours.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import stamina

from services.web.service_layer.errors import Unavailable, error_for
from shared.http_retry import RETRY_STATUSES, RetryableAnswer, backoff, backoff_unsent_only
from shared.logging import get_logger

log = get_logger(__name__)


class Backend:
    """A backend service at `base_url`, called through a shared httpx client."""

    def __init__(self, name: str, base_url: str, client: httpx.AsyncClient,
                 timeout: float, retry_seconds: float = 10.0) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.timeout = timeout
        self.retry_seconds = retry_seconds

    async def call(self, method: str, path: str, token: str | None = None, *,
                   long: bool = False, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = self.timeout * (10 if long else 1)
        reading = method.upper() in ("GET", "HEAD")
        if not reading:
            headers.setdefault("Idempotency-Key", f"web-{uuid4()}")
        try:
            async for attempt in stamina.retry_context(
                    on=backoff if reading else backoff_unsent_only, attempts=None,
                    timeout=self.retry_seconds, wait_initial=0.2, wait_max=2.0,
                    wait_jitter=0.2):
                with attempt:
                    response = await self.client.request(method, f"{self.base_url}{path}",
                                                         headers=headers, timeout=timeout,
                                                         **kwargs)
                    if response.status_code in RETRY_STATUSES:
                        raise RetryableAnswer(response)
        except RetryableAnswer as exc:
            response = exc.response  # still away after the retries: its own answer below
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
