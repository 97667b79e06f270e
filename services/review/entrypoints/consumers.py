"""The projection consumer: intake's school and teacher events -> the review projection.

One projection reads both topics so that schools and teachers are applied by one consumer, in
one order. A batch of new events is applied at once (`apply_batch`: one lock statement, bulk
reads and writes) through the same ProjectionStore.apply the decision handler and the replay
use. A broken school event raises PoisonEvent: the consumer then re-runs the batch one event
at a time and dead-letters that one.
"""

from __future__ import annotations

import asyncpg

from services.review.adapters.projection_store import ProjectionStore
from shared.contracts.envelope import Envelope

SCHOOL_TOPIC = "tmis.intake.school.v1"
TEACHER_TOPIC = "tmis.intake.teacher.v1"
INTAKE_TOPICS = (SCHOOL_TOPIC, TEACHER_TOPIC)


class IntakeEventsProjection:
    """Review items from intake's events (queues, checks, diffs)."""

    name: str = "review_items"
    topics: tuple[str, ...] = INTAKE_TOPICS

    def __init__(self, schema: str) -> None:
        self.store = ProjectionStore(schema)

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        await self.store.apply(conn, [envelope])

    async def apply_batch(self, conn: asyncpg.Connection, envelopes: list[Envelope]) -> None:
        await self.store.apply(conn, envelopes)
