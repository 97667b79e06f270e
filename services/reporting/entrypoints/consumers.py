"""The reporting projection: one idempotent consumer for every topic reporting reads,
including its own (baselines, sign-offs and confirmation tables come back through Kafka and are
applied by the same code as everything else, so a replay is uniform).
"""

from __future__ import annotations

import asyncpg
from pydantic import ValidationError

from services.reporting.adapters.projection_store import ProjectionStore
from services.reporting.domain.history import fact_of
from shared.contracts.base import parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    BaselineImported,
    CompletenessSignedOff,
    ConfirmationTableExported,
    ConfirmationTableReturned,
    RestructuringBatchAnnounced,
    RestructuringBatchApplied,
)
from shared.errors import PoisonEvent

TOPICS = ("tmis.intake.school.v1", "tmis.intake.teacher.v1", "tmis.review.decision.v1",
          "tmis.orgsync.restructuring.v1", "tmis.reporting.baseline.v1")


class ReportingProjection:
    name = "reporting"
    topics: tuple[str, ...] = TOPICS

    def __init__(self, schema: str) -> None:
        self.store = ProjectionStore(schema)

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        try:
            payload = parse_payload(envelope)
        except LookupError:
            return  # an event type this version does not know: not ours to count
        except ValidationError as exc:
            raise PoisonEvent(f"{envelope.event_type} does not match its contract: {exc}") \
                from exc
        entity = fact_of(payload, envelope.stream_version)
        if entity is not None:
            await self.store.apply_fact(conn, envelope, entity)
            return
        match payload:
            case BaselineImported():
                await self.store.add_baseline_chunk(conn, envelope, payload)
            case CompletenessSignedOff():
                await self.store.add_signoff(conn, envelope, payload)
            case ConfirmationTableExported() | ConfirmationTableReturned():
                await self.store.add_confirmation(conn, envelope, payload)
            case RestructuringBatchAnnounced() | RestructuringBatchApplied():
                await self.store.add_batch(conn, envelope, payload)
            case _:
                pass  # RecordApproved, RecordRejected, SpotCheckSampleDrawn: not counted
