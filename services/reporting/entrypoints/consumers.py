"""The reporting projection: one idempotent consumer for every topic reporting reads,
including its own (baselines, sign-offs and confirmation tables come back through Kafka and are
applied by the same code as everything else, so a replay is uniform).

The consumer hands over a whole Kafka batch at once (`apply_batch`, one transaction): school
and teacher facts are folded in bulk (adapters/timelines.py); the rare baseline, sign-off,
confirmation and restructuring events are applied one by one. `apply` is a batch of one, so
there is a single code path.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import asyncpg
from pydantic import ValidationError

from services.reporting.adapters.projection_store import ProjectionStore
from services.reporting.domain.history import EntityFact, fact_of
from shared.contracts.base import EventPayload, model_for, upcast
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    BaselineImported,
    CollectionRoundOpened,
    CompletenessSignedOff,
    ConfirmationTableExported,
    ConfirmationTableReturned,
    LaggardNoticeRead,
    LaggardNoticeSent,
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
        await self.apply_batch(conn, [envelope])

    async def apply_batch(self, conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
        facts: list[tuple[Envelope, EntityFact]] = []
        for envelope in envelopes:
            payload = _payload(envelope)
            if payload is None:
                continue
            entity = fact_of(payload, envelope.stream_version)
            if entity is not None:
                facts.append((envelope, entity))
            else:
                await self._apply_other(conn, envelope, payload)
        if facts:
            await self.store.apply_facts(conn, facts)

    async def _apply_other(self, conn: asyncpg.Connection, envelope: Envelope,
                           payload: EventPayload) -> None:
        match payload:
            case BaselineImported():
                await self.store.add_baseline_chunk(conn, envelope, payload)
            case CompletenessSignedOff():
                await self.store.add_signoff(conn, envelope, payload)
            case ConfirmationTableExported() | ConfirmationTableReturned():
                await self.store.add_confirmation(conn, envelope, payload)
            case RestructuringBatchAnnounced() | RestructuringBatchApplied():
                await self.store.add_batch(conn, envelope, payload)
            case CollectionRoundOpened():
                await self.store.add_round(conn, envelope, payload)
            case LaggardNoticeSent():
                await self.store.add_notice(conn, envelope, payload)
            case LaggardNoticeRead():
                await self.store.mark_notice_read(conn, envelope, payload)
            case _:
                pass  # RecordApproved, RecordRejected, SpotCheckSampleDrawn: not counted


def _payload(envelope: Envelope) -> EventPayload | None:
    """The typed payload, or None for an event type this version does not know (not ours to
    count); a payload that does not match its contract can never be applied.

    What shared.contracts.base.parse_payload does (upcast, then read leniently: fields a newer
    producer added are ignored), with each contract's field names looked up once: pydantic's
    `model_fields` costs more than the validation itself, a million times per province."""
    model = model_for(envelope.event_type)
    if model is None:
        return None
    try:
        data = upcast(envelope.event_type, envelope.schema_version, envelope.payload)
        known = _field_names(model)
        return model.model_validate({k: v for k, v in data.items() if k in known})
    except LookupError:
        return None
    except ValidationError as exc:
        raise PoisonEvent(f"{envelope.event_type} does not match its contract: {exc}") from exc


@functools.cache
def _field_names(model: type[EventPayload]) -> frozenset[str]:
    return frozenset(model.model_fields)
