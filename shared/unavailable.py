"""HTTP 503 + Retry-After while PostgreSQL or Kafka is away, never a 500.

A request that fails because the infrastructure is down, restarting or overloaded
(shared.transient.is_transient: a terminated connection, "the database system is starting up",
too many connections, a refused connection, a timeout, a broker that does not answer) is
answered `503 Service Unavailable` with `Retry-After` and the body
`{"error": "unavailable", "message": ...}`, so a caller knows that sending the same request
again later (with the same Idempotency-Key) is the remedy. Anything else of the same types (a
unique violation nobody caught, a syntax error) is a bug and still goes up as a 500.

`install_unavailable_handler(app)` registers it; shared/runtime.py's install_basics calls it for
every service.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.logging import get_logger
from shared.metrics import REQUESTS_UNAVAILABLE
from shared.transient import RETRY_AFTER_SECONDS, is_transient

log = get_logger(__name__)

# The types a transient failure arrives as (Starlette picks a handler by the exception's MRO).
HANDLED: tuple[type[Exception], ...] = (
    asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError,
    OSError, TimeoutError, KafkaError)


def unavailable_response(exc: BaseException,
                         retry_after: int = RETRY_AFTER_SECONDS) -> JSONResponse:
    return JSONResponse(
        {"error": "unavailable",
         "message": f"temporarily unavailable ({type(exc).__name__}); try again later"},
        status_code=503, headers={"Retry-After": str(retry_after)})


def install_unavailable_handler(app: FastAPI, service: str) -> None:
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not is_transient(exc):
            raise exc  # a bug: the server error middleware answers 500 and logs it
        REQUESTS_UNAVAILABLE.labels(service).inc()
        log.warning("request_unavailable", path=request.url.path, error=type(exc).__name__,
                    detail=str(exc)[:200])
        return unavailable_response(exc)

    for exc_type in HANDLED:
        app.add_exception_handler(exc_type, unavailable)
