"""Request bodies are bounded as they arrive, whether or not they say how long they are.

`BodyLimit` is a plain ASGI middleware (every service's app and the web front). Each request
with a body gets a limit: the first `BodyRule` whose method and path match, else the default.
A Content-Length over the limit is answered 413 before a byte is read; without one (a chunked
body) the middleware counts the bytes it hands on and, past the limit, answers 413 itself and
stops the handler, whose own later answer is dropped. The handler's reading fails, so it writes
nothing: no event, no row.

Upload routes (`signed_in=True`) also need a signed-in caller before a byte is read: the
`signed_in` check (the API services: shared.auth's bearer token with its account gate, teachers
refused; the web front: its session) runs on the headers alone, and a caller without one is
answered 401 (403), not made to send megabytes first. Finer role and region checks stay in
the routes: reporting's baselines check before reading the form; intake's imports need the
school code from the form, so theirs run after it (bounded by the limit).
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from shared.auth import current_principal
from shared.errors import PayloadTooLarge, TmisError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
SignedIn = Callable[[Scope], Awaitable[TmisError | None]]
"""None for a signed-in caller, else the error to answer with (401)."""

MiB = 1024 * 1024
DEFAULT_LIMIT = 2 * MiB
ENVELOPE_SLACK = 64 * 1024  # multipart boundaries and form fields around an upload's file
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class BodyRule:
    """Bodies of `method` requests to paths matching `path` (a regex, whole path) may be
    `limit` bytes (Callable: read per request, from settings); `what` names them in messages."""

    method: str
    path: str
    limit: int | Callable[[], int]
    what: str
    signed_in: bool = True

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.path, path) is not None

    def bytes(self) -> int:
        return self.limit() if callable(self.limit) else self.limit


def too_large(limit: int, what: str) -> PayloadTooLarge:
    size = f"{limit // MiB} MiB" if limit >= MiB else f"{limit // 1024} KiB"
    return PayloadTooLarge(f"the {what} is larger than the limit of {limit} bytes ({size}) "
                           f"(请求内容超过大小限制 {size}，请缩小或拆分后重试)")


class _Stop(Exception):
    """Raised into the handler's read once the middleware has answered 413."""


class BodyLimit:
    def __init__(self, app: Any, rules: Sequence[BodyRule] = (), *,
                 default_limit: int = DEFAULT_LIMIT, signed_in: SignedIn | None = None,
                 html_pages: bool = False) -> None:
        self.app = app
        self.rules = tuple(rules)
        self.default_limit = default_limit
        self.signed_in = signed_in
        self.html_pages = html_pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        rule = next((r for r in self.rules if r.matches(scope["method"], scope["path"])), None)
        limit, what = ((rule.bytes() + ENVELOPE_SLACK, rule.what) if rule
                       else (self.default_limit, "request body (请求内容)"))
        if rule is not None and rule.signed_in and self.signed_in is not None:
            refusal = await self.signed_in(scope)
            if refusal is not None:
                await self._answer(send, refusal)
                return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._answer(send, too_large(limit, what))
            return
        received = 0
        answered = False

        async def counted() -> Message:
            nonlocal received, answered
            if answered:
                raise _Stop()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    answered = True
                    await self._answer(send, too_large(limit, what))
                    raise _Stop()
            return message

        async def guarded(message: Message) -> None:
            if not answered:
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not answered:
                raise

    async def _answer(self, send: Send, error: TmisError) -> None:
        if self.html_pages:
            body = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>'
                    f"{error.status_code}</title><p>{html.escape(error.message)}</p>"
                    f'<p><a href="javascript:history.back()">返回</a></p></html>').encode()
            media = b"text/html; charset=utf-8"
        else:
            body, media = orjson.dumps(error.as_dict()), b"application/json"
        await send({"type": "http.response.start", "status": error.status_code,
                    "headers": [(b"content-type", media),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def bearer_signed_in(scope: Scope) -> TmisError | None:
    """The API services' check: shared.auth's whole authentication (token, expiry, account
    gate, production rules) on the headers alone; teacher tokens, good on the self-service
    routes only (which take no uploads), are refused here too (403)."""
    try:
        await current_principal(Request(scope))
    except TmisError as exc:
        return exc
    return None
