"""The port the decision handlers need: one transaction over review's store and projection.

The PostgreSQL implementation is services.review.adapters.unit_of_work.PgReviewUnitOfWork;
unit tests use a hand-written in-memory fake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Protocol

from services.review.domain.model import ReviewItem, Status
from shared.auth import Region
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import SpotCheckSampleDrawn
from shared.eventstore.store import Append, Metadata


class ReviewUnitOfWork(Protocol):
    """Commits when the `async with` block ends normally; rolls back on an exception."""

    async def __aenter__(self) -> ReviewUnitOfWork: ...

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def rebuilding(self) -> bool:
        """Is the projection being rebuilt (decisions must wait)?"""
        ...

    async def lock_item(self, teacher_id: str) -> ReviewItem | None:
        """The teacher's review state, locked against the consumer until commit."""
        ...

    async def lock_items(self, teacher_ids: Sequence[str]) -> dict[str, ReviewItem]:
        """Many teachers' review states (those in review), all locked in one go."""
        ...

    async def region_of(self, school_code: str) -> Region | None:
        """Where a school sits, from the school registry; None if unknown."""
        ...

    async def regions_of(self, school_codes: Sequence[str]) -> dict[str, Region]:
        """Where each known school sits; unknown schools are left out."""
        ...

    async def county_region(self, county_code: str) -> Region:
        ...

    async def school_approved(self, county_code: str) -> list[str]:
        """Teacher ids of the county's active school-approved records, ordered."""
        ...

    async def spot_check_sample(self, sample_id: str) -> SpotCheckSampleDrawn | None:
        """A drawn sample as its event recorded it; None if there is none."""
        ...

    async def stream_version(self, stream_id: str) -> int:
        ...

    async def stream_versions(self, stream_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each stream that exists."""
        ...

    async def statuses(self, teacher_ids: Sequence[str]) -> dict[str, Status]:
        ...

    async def record(self, stream_id: str, expected_version: int,
                     events: Sequence[EventPayload], meta: Metadata) -> list[Envelope]:
        """Append to review's store (and outbox) and apply to the projection, atomically."""
        ...

    async def record_many(self, appends: Sequence[Append], meta: Metadata,
                          decided: Mapping[str, ReviewItem]) -> list[Envelope]:
        """`record` for many streams at once (one append, one projection update); raises
        ConcurrencyConflict, appending nothing, if any expected version is stale. `decided`:
        the items the appended decisions were decided on, as locked in this unit of work
        (the projection updates them without reading every fact again)."""
        ...


UnitOfWorkFactory = Callable[[], ReviewUnitOfWork]
