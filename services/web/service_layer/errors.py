"""What a backend's refusal means to a page, one small hierarchy.

    BackendError                 any answer that is not a success (status, message, problems)
    ├── SignInRequired           401: no, expired or revoked token -> back to /login
    ├── NotAllowed               403: outside the user's role or region
    ├── NotFoundThere            404
    ├── Invalid                  422 (and 400/413/415/429): problems to show next to fields
    ├── Conflicting              409: stale version, duplicate person, state conflict
    └── Unavailable              the backend did not answer (connection, timeout, 5xx)
"""

from __future__ import annotations

from typing import Any


class BackendError(Exception):
    status = 500

    def __init__(self, service: str, message: str, problems: list[dict[str, Any]] | None = None,
                 code: str = "", status: int | None = None) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.problems = problems or []
        self.code = code
        if status is not None:
            self.status = status


class SignInRequired(BackendError):
    status = 401


class NotAllowed(BackendError):
    status = 403


class NotFoundThere(BackendError):
    status = 404


class Invalid(BackendError):
    status = 422


class Conflicting(BackendError):
    status = 409


class Unavailable(BackendError):
    status = 502


_BY_STATUS: dict[int, type[BackendError]] = {
    401: SignInRequired, 403: NotAllowed, 404: NotFoundThere, 409: Conflicting,
    400: Invalid, 413: Invalid, 415: Invalid, 422: Invalid, 429: Invalid,
}


def error_for(service: str, status: int, body: Any) -> BackendError:
    """The error of a non-2xx answer, from the backends' common error body
    (`{"error", "message", "problems"?}`, or orgsync's `issues`)."""
    message, problems, code = f"HTTP {status}", [], ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("detail") or message)
        code = str(body.get("error", ""))
        raw = body.get("problems") or body.get("issues") or []
        problems = [p for p in raw if isinstance(p, dict)]
    cls = _BY_STATUS.get(status, Unavailable if status >= 500 else Invalid)
    return cls(service, message, problems, code, status)
