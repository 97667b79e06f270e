"""Intake's Kafka consumers: it follows orgsync's restructuring batches.

For each RestructuringBatchApplied the follower applies every operation to the registry by
appending intake's own events in the consumer's transaction (the consumer records the event id
in the same transaction, so a redelivered batch is skipped). Announced batches are not acted on.
"""

from __future__ import annotations

import asyncpg

from services.intake.adapters.registry_pg import PgRegistry
from services.intake.service_layer.restructuring import apply_batch
from shared.contracts.base import parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.events import RestructuringBatchApplied
from shared.errors import PoisonEvent
from shared.eventstore.store import EventStore

RESTRUCTURING_TOPIC = "tmis.orgsync.restructuring.v1"


class RestructuringFollower:
    """Projection: keeps the school registry in step with applied restructuring batches."""

    name: str = "restructuring_follower"
    topics: tuple[str, ...] = (RESTRUCTURING_TOPIC,)

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        if envelope.event_type != RestructuringBatchApplied.event_type:
            return
        try:
            batch = parse_payload(envelope)
        except (LookupError, ValueError) as exc:
            raise PoisonEvent(f"unreadable {envelope.event_type}: {exc}") from exc
        assert isinstance(batch, RestructuringBatchApplied)
        await apply_batch(PgRegistry(conn, self.store), batch, envelope)
