"""Every service answers 503 + Retry-After while the infrastructure is away, never 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI

from shared.runtime import install_basics


def an_app_whose_route_raises(error: Exception) -> FastAPI:
    app = FastAPI()
    install_basics(app, "test")

    @app.get("/thing")
    async def thing() -> dict[str, str]:
        raise error

    return app


async def get_thing(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/thing")


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.InterfaceError("connection is closed"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
    KafkaConnectionError("broker down"),
], ids=lambda e: type(e).__name__)
async def test_a_request_that_meets_an_absent_database_or_broker_gets_503_with_retry_after(
        error: Exception) -> None:
    response = await get_thing(an_app_whose_route_raises(error))
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "unavailable"


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.UniqueViolationError("duplicate key"),
    asyncpg.exceptions.UndefinedColumnError("column does not exist"),
], ids=lambda e: type(e).__name__)
async def test_a_bug_in_sql_is_still_a_500(error: Exception) -> None:
    response = await get_thing(an_app_whose_route_raises(error))
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
