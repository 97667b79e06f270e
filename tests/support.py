"""Test helpers shared by integration and e2e tests: run a service in-process, poll, mint tokens.

`running_service` starts a service's real runtime (pool, migrations, producer, relay,
consumers) against the test stack and yields an httpx client speaking ASGI to its app, so a test
drives the public HTTP API without a port. Pass `schema=` to isolate a test's projections and
consumer groups from other tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from shared.auth import mint_token
from shared.runtime import Runtime, ServiceSpec, build_app, start_runtime, stop_runtime
from shared.settings import Settings

T = TypeVar("T")


def settings_for(stack: Any, **overrides: Any) -> Settings:
    return Settings(kafka_bootstrap=stack.kafka_bootstrap, database_url=stack.database_url,
                    env="test", **overrides)


@dataclasses.dataclass
class RunningService:
    client: httpx.AsyncClient
    runtime: Runtime
    settings: Settings
    app: Any = None  # the ASGI app the client speaks to

    def token(self, role: str, **region: str) -> str:
        return mint_token(self.settings, role, **region)

    def auth(self, role: str, **region: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **region)}"}

    @contextlib.asynccontextmanager
    async def from_address(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the same app whose requests come from `address` (request.client)."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     timeout=60) as client:
            yield client


@contextlib.asynccontextmanager
async def running_service(spec: ServiceSpec, settings: Settings, *,
                          schema: str | None = None) -> AsyncIterator[RunningService]:
    if schema:
        spec = dataclasses.replace(spec, schema=schema)
    app = build_app(spec, settings)
    runtime, broker, tasks, stop = await start_runtime(spec, settings)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     timeout=60) as client:
            yield RunningService(client, runtime, settings, app)
    finally:
        await stop_runtime(runtime, broker, tasks, stop)


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], *,
                     timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    last: T = await probe()
    while not until(last):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)
        last = await probe()
    return last
