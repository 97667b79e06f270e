"""The errors TMIS raises on purpose, one small hierarchy for every service.

    TmisError
    ├── ValidationProblem      input that breaks a rule; carries field-level problems (HTTP 422)
    ├── NotFound               an aggregate or document that does not exist (HTTP 404)
    ├── Forbidden              outside the caller's role or region (HTTP 403)
    ├── PayloadTooLarge        a body or upload over its limit (HTTP 413, shared/bodylimit.py)
    ├── Conflict               the request contradicts current state (HTTP 409)
    │   ├── ConcurrencyConflict    a stale expected version on append
    │   └── DuplicatePerson        a second active post for the same person
    └── PoisonEvent            an event a consumer can parse but can never apply (dead-letter it)

Anything else is a bug or an infrastructure failure and is allowed to propagate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a dotted field path or a row/column) and what."""

    loc: str
    msg: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"loc": self.loc, "msg": self.msg}
        if self.row is not None:
            out["row"] = self.row
        return out


class TmisError(Exception):
    """Base of every deliberate TMIS error."""

    status_code = 500
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, object]:
        return {"error": self.code, "message": self.message}


class ValidationProblem(TmisError):
    status_code = 422
    code = "validation_failed"

    def __init__(self, problems: list[Problem], message: str | None = None) -> None:
        self.problems = problems
        summary = "; ".join(f"{p.loc}: {p.msg}" for p in problems[:5])
        super().__init__(message or f"invalid input: {summary}")

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "problems": [p.as_dict() for p in self.problems]}


class NotFound(TmisError):
    status_code = 404
    code = "not_found"


class Forbidden(TmisError):
    status_code = 403
    code = "forbidden"


class PayloadTooLarge(TmisError):
    status_code = 413
    code = "payload_too_large"


class Conflict(TmisError):
    status_code = 409
    code = "conflict"


class ConcurrencyConflict(Conflict):
    code = "stale_version"

    def __init__(self, stream_id: str, expected: int | None, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id} is at version {actual}, not the expected {expected}; "
            "reload and try again"
        )

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "stream_id": self.stream_id, "expected_version": self.expected,
                "actual_version": self.actual}


class DuplicatePerson(Conflict):
    code = "duplicate_person"

    def __init__(self, message: str, existing_teacher_id: str, existing_school_code: str) -> None:
        self.existing_teacher_id = existing_teacher_id
        self.existing_school_code = existing_school_code
        super().__init__(message)

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "existing_teacher_id": self.existing_teacher_id,
                "existing_school_code": self.existing_school_code}


class PoisonEvent(TmisError):
    """A consumer cannot apply this event, ever; it goes to the dead-letter topic."""

    code = "poison_event"
