"""The port the handlers talk to: intake's write side inside one transaction.

`Registry` is everything a handler loads or saves: the write-side tables (schools, teachers),
the private identities table (the ID number and the one-active-post rule), proof documents,
idempotency records and the event store's append. The PostgreSQL adapter implements it over one
connection in one transaction; unit tests implement it with dictionaries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from services.intake.domain.documents import Document
from services.intake.domain.school import School
from services.intake.domain.search import TeacherQuery
from services.intake.domain.teacher import Teacher
from shared.auth import Region
from shared.contracts.envelope import Envelope
from shared.eventstore.store import Append, Metadata


class Lock(StrEnum):
    """How a school row is read. SHARE (FOR KEY SHARE) for submissions into a school, UPDATE
    (FOR UPDATE) for changing or closing it: a closure waits for the submissions in flight and
    a submission after it sees the school closed, so no teacher lands in a closed school."""

    NONE = "none"
    SHARE = "share"
    UPDATE = "update"


@dataclass(frozen=True)
class Identity:
    """Who a teacher is (intake-private): the person's ID number and where they hold a post."""

    teacher_id: str
    id_number: str
    school_code: str
    active: bool


@dataclass(frozen=True)
class TeacherHit:
    """A teacher found by a search, with the school they are (or were last) at."""

    teacher: Teacher
    school: School


@dataclass(frozen=True)
class StoredResponse:
    """The answer given to a request carrying an Idempotency-Key, replayed on retries."""

    status_code: int
    body: dict[str, Any]


class Registry(Protocol):
    # schools
    async def school(self, code: str, lock: Lock = Lock.NONE) -> School | None: ...
    async def schools(self, codes: Collection[str], lock: Lock = Lock.NONE
                      ) -> dict[str, School]: ...
    async def list_schools(self, *, county_code: str | None, city_code: str | None,
                           limit: int, offset: int) -> list[School]: ...
    async def save_schools(self, schools: Sequence[School]) -> None: ...

    # teachers
    async def teacher(self, teacher_id: str, lock: bool = False) -> Teacher | None: ...
    async def teachers(self, teacher_ids: Collection[str], lock: bool = False
                       ) -> dict[str, Teacher]: ...
    async def teachers_at(self, school_codes: Collection[str], *, lock: bool = False,
                          limit: int | None = None, offset: int = 0) -> list[Teacher]: ...
    async def count_active_at(self, school_code: str) -> int: ...
    async def search_teachers(self, query: TeacherQuery, *, within: Region | None,
                              teacher_ids: Collection[str] | None, limit: int, offset: int
                              ) -> list[TeacherHit]: ...
    async def save_teachers(self, teachers: Sequence[Teacher]) -> None: ...

    # identities (the ID number lives only here)
    async def identities(self, id_numbers: Collection[str]) -> dict[str, Identity]: ...
    async def identity_of(self, teacher_id: str) -> Identity | None: ...
    async def teacher_ids_of(self, id_number: str) -> list[str]: ...
    async def claim_identities(self, claims: Sequence[Identity]) -> set[str]: ...
    async def set_identity(self, teacher_id: str, *, active: bool, school_code: str) -> bool: ...
    async def change_id_number(self, teacher_id: str, id_number: str) -> bool: ...
    async def move_identities(self, teacher_ids: Collection[str], school_code: str) -> None: ...

    # events
    async def append(self, appends: Sequence[Append], meta: Metadata) -> list[Envelope]: ...

    # proof documents
    async def document(self, sha256: str) -> Document | None: ...
    async def document_content(self, sha256: str) -> bytes | None: ...
    async def save_document(self, doc: Document, content: bytes, uploaded_by: str) -> None: ...
    async def note_document_use(self, sha256: str, teacher_id: str,
                                school_codes: Collection[str]) -> None: ...
    async def document_schools(self, sha256: str) -> set[str]: ...

    # idempotency keys
    async def begin_request(self, subject: str, key: str,
                            request_hash: str) -> tuple[str, StoredResponse] | None: ...
    async def finish_request(self, subject: str, key: str, response: StoredResponse) -> None: ...
    # the same for many requests at once (group commit); claims in (subject, key) order
    async def begin_requests(self, claims: Sequence[tuple[str, str, str]]
                             ) -> dict[tuple[str, str], tuple[str, StoredResponse]]: ...
    async def finish_requests(self, answers: Sequence[tuple[str, str, StoredResponse]]
                              ) -> None: ...
    async def forget_requests(self, keys: Sequence[tuple[str, str]]) -> None: ...


UnitOfWork = AbstractAsyncContextManager[Registry]
"""`async with uow as registry:` one transaction; commit at the end, roll back on error."""
