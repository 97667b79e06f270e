"""The registry projection: follows intake's school and teacher topics into orgsync's view of
the registry (what a plan checks a batch against). Parse, then hand to the follower."""

from __future__ import annotations

import asyncpg
from pydantic import ValidationError

from services.orgsync.adapters.registry_store import RegistryStore
from services.orgsync.service_layer.handlers import follow
from shared.contracts.base import parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.topics import topic_for_category
from shared.errors import PoisonEvent


class RegistryProjection:
    name = "registry"
    topics: tuple[str, ...] = (topic_for_category("school"), topic_for_category("teacher"))

    def __init__(self, registry: RegistryStore) -> None:
        self.registry = registry

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        try:
            event = parse_payload(envelope)
        except LookupError:
            return  # an event type this version does not know says nothing about the registry
        except ValidationError as exc:
            raise PoisonEvent(f"{envelope.event_type} breaks its contract: {exc}") from exc
        await follow(conn, self.registry, event, envelope.stream_version)
