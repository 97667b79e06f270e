"""Plumbing the HTTP routes share: the unit of work, commands with Idempotency-Key, limits.

`command` runs a handler in one transaction together with its idempotency record and turns
the rare transaction-level retry errors of PostgreSQL (deadlock, serialization) into a 409 the
client can retry. Upload sizes are
bounded by shared/bodylimit.py (the service's BodyRules, in bootstrap.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from services.intake.adapters.registry_pg import unit_of_work
from services.intake.config import intake_settings
from services.intake.service_layer.group_commit import GroupCommit
from services.intake.service_layer.idempotency import once, request_hash
from services.intake.service_layer.ports import Registry, StoredResponse, UnitOfWork
from services.intake.service_layer.registrations import Render, Submission
from shared.auth import Principal
from shared.errors import Conflict, TmisError
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)
_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
# Multipart framing around a file: headers, boundaries, the other small fields.
_ENVELOPE_SLACK = 64 * 1024


class UnsupportedMediaType(TmisError):
    status_code = 415
    code = "unsupported_media_type"


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid bearer token"},
    403: {"description": "outside the caller's role or region (logged)"},
    404: {"description": "no such school, teacher or document"},
    409: {"description": "stale expected_version, duplicate person, or state conflict"},
    422: {"description": "field-level problems: loc says where, msg says what"},
}


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def uow_factory(request: Request) -> Callable[[], UnitOfWork]:
    rt = runtime(request)
    return lambda: unit_of_work(rt.pool, rt.store)


def correlation_id(request: Request) -> UUID | None:
    raw = request.headers.get("x-correlation-id")
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


async def transaction(request: Request, fn: Callable[[Registry], Awaitable[Any]]) -> Any:
    async with uow_factory(request)() as repo:
        return await fn(repo)


async def command(request: Request, who: Principal, key: str | None, body: Any,
                  run: Callable[[Registry], Awaitable[StoredResponse]]) -> Response:
    """Run `run` in one transaction, once per Idempotency-Key; the answer as JSON."""
    fingerprint = request_hash(request.method, request.url.path, body)
    try:
        async with uow_factory(request)() as repo:
            answer, replayed = await once(repo, who, key, fingerprint, lambda: run(repo))
    except _RETRYABLE as exc:
        raise Conflict(f"a concurrent change got in the way ({type(exc).__name__}); "
                       "send the request again") from exc
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    log.info("command", method=request.method, path=request.url.path,
             status=answer.status_code, replayed=replayed, actor=who.subject)
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


def group_commit(request: Request, render: Render) -> GroupCommit:
    """The process's registration batcher (made on first use, one per process)."""
    rt = runtime(request)
    batcher = rt.extras.get("group_commit")
    if batcher is None:
        settings = intake_settings()
        batcher = GroupCommit(lambda: unit_of_work(rt.pool, rt.store), render,
                              max_batch=settings.group_commit_max_batch,
                              in_flight=settings.group_commit_in_flight)
        rt.extras["group_commit"] = batcher
    assert isinstance(batcher, GroupCommit)
    return batcher


async def grouped(request: Request, submission: Submission, render: Render) -> Response:
    """Hand one submission to the group commit; its own answer (or error) as JSON."""
    submission.fingerprint = request_hash(request.method, request.url.path,
                                          submission.fingerprint_body)
    submission.correlation_id = correlation_id(request)
    try:
        done = await group_commit(request, render).submit(submission)
    except _RETRYABLE as exc:
        raise Conflict(f"a concurrent change got in the way ({type(exc).__name__}); "
                       "send the request again") from exc
    if done.error is not None:
        raise done.error
    assert done.answer is not None
    headers = {"Idempotent-Replayed": "true"} if done.replayed else None
    log.info("command", method=request.method, path=request.url.path,
             status=done.answer.status_code, replayed=done.replayed, actor=done.who.subject,
             grouped=True)
    return JSONResponse(done.answer.body, status_code=done.answer.status_code, headers=headers)
