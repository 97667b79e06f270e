"""The PostgreSQL unit of work of the decision handlers: one transaction in which a decision
(or a chunk of a batch: `lock_items`, `regions_of`, `record_many`, each one statement or two
for any number of teachers) is appended to review's event store (and outbox) and applied to
the projection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType

import asyncpg

from services.review.adapters.projection_store import ProjectionStore, item_from_row
from services.review.adapters.queries import ReviewQueries, sample_of
from services.review.domain.model import ReviewItem, Status
from shared.auth import Region
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import SpotCheckSampleDrawn
from shared.eventstore.store import Append, EventStore, Metadata, UnitOfWork


class PgReviewUnitOfWork:
    def __init__(self, pool: asyncpg.Pool, store: EventStore) -> None:
        self._uow = UnitOfWork(pool)
        self.store = store
        self.projection = ProjectionStore(store.schema)
        self.queries = ReviewQueries(store.schema)

    async def __aenter__(self) -> PgReviewUnitOfWork:
        await self._uow.__aenter__()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._uow.__aexit__(et, e, tb)

    @property
    def conn(self) -> asyncpg.Connection:
        return self._uow.conn

    async def rebuilding(self) -> bool:
        return await self.projection.rebuilding(self.conn)

    async def lock_item(self, teacher_id: str) -> ReviewItem | None:
        await self.projection.lock(self.conn, [teacher_id])
        row = await self.queries.item(self.conn, teacher_id)
        return item_from_row(row) if row else None

    async def lock_items(self, teacher_ids: Sequence[str]) -> dict[str, ReviewItem]:
        await self.projection.lock(self.conn, teacher_ids)
        return {r["teacher_id"]: item_from_row(r)
                for r in await self.queries.items(self.conn, teacher_ids)}

    async def region_of(self, school_code: str) -> Region | None:
        return await self.queries.region_of(self.conn, school_code)

    async def regions_of(self, school_codes: Sequence[str]) -> dict[str, Region]:
        return await self.queries.regions_of(self.conn, school_codes)

    async def county_region(self, county_code: str) -> Region:
        return await self.queries.county_region(self.conn, county_code)

    async def school_approved(self, county_code: str) -> list[str]:
        return await self.queries.school_approved(self.conn, county_code)

    async def spot_check_sample(self, sample_id: str) -> SpotCheckSampleDrawn | None:
        row = await self.queries.spot_check(self.conn, sample_id)
        return sample_of(row) if row else None

    async def stream_version(self, stream_id: str) -> int:
        return await self.store.version(self.conn, stream_id)

    async def stream_versions(self, stream_ids: Sequence[str]) -> dict[str, int]:
        return await self.store.versions(self.conn, stream_ids)

    async def statuses(self, teacher_ids: Sequence[str]) -> dict[str, Status]:
        return {t: Status(s) for t, s in
                (await self.queries.statuses(self.conn, teacher_ids)).items()}

    async def record(self, stream_id: str, expected_version: int,
                     events: Sequence[EventPayload], meta: Metadata) -> list[Envelope]:
        envelopes = await self.store.append(self.conn, stream_id, expected_version, events, meta)
        await self.projection.apply(self.conn, envelopes)
        return envelopes

    async def record_many(self, appends: Sequence[Append], meta: Metadata,
                          decided: Mapping[str, ReviewItem]) -> list[Envelope]:
        envelopes = await self.store.append_many(self.conn, appends, meta)
        await self.projection.apply_decisions(self.conn, envelopes, decided)
        return envelopes
