"""The envelope every TMIS event travels in, on the bus and in every event store.

An envelope is the unit of truth: ids (event, stream, correlation, causation), ordering
(stream version, position in the source store), times (occurred = business time, the one
"as of" queries use; recorded = when the store accepted it), who did it, and the payload.
Consumers parse envelopes strictly (a broken envelope is dead-lettered) and payloads leniently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    source: str = Field(description="the service whose event store holds this event")
    stream_id: str = Field(min_length=1, description="aggregate id; also the Kafka key")
    stream_version: int = Field(ge=1)
    position: int = Field(ge=1, description="global position in the source service's store")
    occurred_at: datetime = Field(description="business time; 'as of' queries use it")
    recorded_at: datetime
    actor: str
    correlation_id: UUID
    causation_id: UUID | None = None
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)
