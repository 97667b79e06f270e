"""Our own HTTP clients ride out a service that is briefly away: same request, same key.

The services are replaced by a hand-written httpx transport that answers from a script
(503 with Retry-After, a refused connection, a reset, then success); stamina's test mode
removes the waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
import stamina

from services.web.adapters.http import Backend
from services.web.service_layer.errors import Unavailable
from simulator.adapters.api import ApiError, ServiceClient

Step = Callable[[httpx.Request], httpx.Response]


class ScriptedService(httpx.AsyncBaseTransport):
    """Answers each request with the next step of its script; remembers what it was sent."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        return step(request)


def answer(status: int, **headers: str) -> Step:
    return lambda request: httpx.Response(status, headers=headers, json={"ok": status < 400})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset by peer", request=request)


@pytest.fixture(autouse=True)
def no_waits():
    with stamina.set_testing(True, attempts=6):
        yield


def a_simulator_client(service: ScriptedService) -> ServiceClient:
    return ServiceClient("intake", "http://intake.test", "token", asyncio.Semaphore(4),
                         transport=service)


async def test_the_simulator_sends_a_post_again_with_the_same_idempotency_key_until_it_lands(
        ) -> None:
    service = ScriptedService(answer(503, **{"Retry-After": "0"}), refused, reset,
                              answer(502), answer(201))
    client = a_simulator_client(service)
    response = await client.call("POST", "/v1/teachers", what="POST /v1/teachers",
                                 idempotency_key="key-1", json={"x": 1})
    await client.close()
    assert response.status_code == 201
    assert [r.headers["Idempotency-Key"] for r in service.seen] == ["key-1"] * 5
    assert client.retries == 4


async def test_the_simulator_gives_up_with_the_services_last_answer() -> None:
    service = ScriptedService(answer(503, **{"Retry-After": "0"}))
    client = a_simulator_client(service)
    with pytest.raises(ApiError) as raised:
        await client.call("GET", "/v1/schools", what="GET /v1/schools")
    await client.close()
    assert raised.value.status == 503
    assert len(service.seen) == 6


async def test_the_simulator_does_not_retry_a_refusal_of_the_request_itself() -> None:
    service = ScriptedService(answer(422))
    client = a_simulator_client(service)
    with pytest.raises(ApiError):
        await client.call("POST", "/v1/teachers", what="POST", idempotency_key="k")
    await client.close()
    assert len(service.seen) == 1


async def a_backend_call(service: ScriptedService, method: str,
                         **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=service) as http:
        return await Backend("review", "http://review.test", http, 5.0).call(
            method, "/v1/thing", "token", **kwargs)


async def test_the_web_front_retries_a_503_and_a_refused_connection_with_one_key() -> None:
    service = ScriptedService(answer(503, **{"Retry-After": "0"}), refused, answer(200))
    response = await a_backend_call(service, "POST", json={})
    assert response.status_code == 200
    keys = {r.headers["Idempotency-Key"] for r in service.seen}
    assert len(service.seen) == 3 and len(keys) == 1


async def test_the_web_front_keeps_a_callers_idempotency_key() -> None:
    service = ScriptedService(answer(504), answer(200))
    await a_backend_call(service, "POST", headers={"Idempotency-Key": "mine"})
    assert [r.headers["Idempotency-Key"] for r in service.seen] == ["mine", "mine"]


async def test_the_web_front_says_unavailable_when_the_backend_stays_away() -> None:
    service = ScriptedService(refused)
    with pytest.raises(Unavailable):
        await a_backend_call(service, "GET")
    assert len(service.seen) == 6
