"""The Kafka messages of an event, rendered once at append and kept in its outbox row.

At append the store has everything a message needs: the typed payload, its ids, its position
and times. It renders the internal envelope's JSON (the payload serialised once, embedded as
is), the internal message's headers, and the public translations (shared/contracts/public.py),
and writes them into the outbox row in the same transaction as the event. The relay then only
reads bytes and sends them: no join with the events table, no JSON parsing, no pydantic
validation on the publishing path. Rows written before this existed (outbox.messages NULL) are
rendered by the relay from the event row, as before.

The framing of one row's messages (big-endian): u16 count, then per message u16 topic length,
topic, u32 key length, key, u32 value length, value, u16 header count, and per header u16 name
length, name, u32 value length, value.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from shared.contracts.base import EventPayload, model_for
from shared.contracts.envelope import Envelope
from shared.contracts.public import translate
from shared.contracts.topics import topic_for_category
from shared.logging import get_logger

log = get_logger(__name__)

Header = tuple[str, bytes]


@dataclass(frozen=True)
class Message:
    """One message for the producer, bytes-ready."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[Header, ...]


def topic_for_event_type(event_type: str) -> str:
    model = model_for(event_type)
    if model is None:
        raise LookupError(f"event type {event_type} has no contract; cannot route it")
    return topic_for_category(model.category)


@dataclass(frozen=True)
class Stamped:
    """One event as the store appends it: ids, order, times, who, and the payload twice, as
    its model (for translations) and as its JSON, serialised once."""

    event_id: UUID
    stream_id: str
    stream_version: int
    position: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    correlation_id: UUID
    causation_id: UUID | None
    payload: EventPayload
    payload_json: bytes

    def envelope_json(self, source: str) -> bytes:
        """The internal envelope exactly as consumers parse it (shared/contracts/envelope.py)."""
        head = orjson.dumps({
            "event_id": self.event_id, "event_type": self.event_type,
            "schema_version": self.schema_version, "source": source,
            "stream_id": self.stream_id, "stream_version": self.stream_version,
            "position": self.position, "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at, "actor": self.actor,
            "correlation_id": self.correlation_id, "causation_id": self.causation_id,
            "payload": orjson.Fragment(self.payload_json)})
        return head

    def envelope(self, source: str) -> Envelope:
        """The Envelope model (what append returns to its caller), without validating again."""
        return Envelope.model_construct(
            event_id=self.event_id, event_type=self.event_type,
            schema_version=self.schema_version, source=source, stream_id=self.stream_id,
            stream_version=self.stream_version, position=self.position,
            occurred_at=self.occurred_at, recorded_at=self.recorded_at, actor=self.actor,
            correlation_id=self.correlation_id, causation_id=self.causation_id,
            payload=orjson.loads(self.payload_json))


def internal_headers(event_type: str, event_id: UUID, schema_version: int,
                     correlation_id: UUID) -> tuple[Header, ...]:
    return (("event_type", event_type.encode()), ("event_id", str(event_id).encode()),
            ("schema_version", str(schema_version).encode()),
            ("correlation_id", str(correlation_id).encode()))


def messages_for(envelope: Envelope, value: bytes, route: Callable[[str], str],
                 publish_public: bool, typed: EventPayload | None = None) -> list[Message]:
    """The internal message of an event and its public translations."""
    out = [Message(route(envelope.event_type), envelope.stream_id.encode(), value,
                   internal_headers(envelope.event_type, envelope.event_id,
                                    envelope.schema_version, envelope.correlation_id))]
    if publish_public:
        out.extend(Message(m.topic, m.key, m.value, m.headers)
                   for m in public_messages(envelope, typed))
    return out


def public_messages(envelope: Envelope, typed: EventPayload | None = None) -> list[Any]:
    """The public messages of an internal event. A payload that does not match its own
    contract (it was validated on append, so this is a bug) is logged and gets no public
    message: publishing must not stall on one event."""
    try:
        return translate(envelope, typed)
    except (LookupError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        log.error("public_translation_failed", event_id=str(envelope.event_id),
                  event_type=envelope.event_type, error=str(exc)[:300])
        return []


_U16, _U32 = struct.Struct(">H"), struct.Struct(">I")


def pack(messages: Sequence[Message]) -> bytes:
    parts = [_U16.pack(len(messages))]
    for m in messages:
        topic = m.topic.encode()
        parts += [_U16.pack(len(topic)), topic, _U32.pack(len(m.key)), m.key,
                  _U32.pack(len(m.value)), m.value, _U16.pack(len(m.headers))]
        for name, value in m.headers:
            raw = name.encode()
            parts += [_U16.pack(len(raw)), raw, _U32.pack(len(value)), value]
    return b"".join(parts)


def unpack(data: bytes) -> list[Message]:
    view = memoryview(data)
    at = 0

    def take(size: struct.Struct) -> int:
        nonlocal at
        (n,) = size.unpack_from(view, at)
        at += size.size
        return int(n)

    def chunk(n: int) -> bytes:
        nonlocal at
        out = bytes(view[at:at + n])
        if len(out) != n:
            raise ValueError("truncated outbox messages")
        at += n
        return out

    messages = []
    for _ in range(take(_U16)):
        topic = chunk(take(_U16)).decode()
        key = chunk(take(_U32))
        value = chunk(take(_U32))
        headers = tuple((chunk(take(_U16)).decode(), chunk(take(_U32)))
                        for _ in range(take(_U16)))
        messages.append(Message(topic, key, value, headers))
    if at != len(data):
        raise ValueError("trailing bytes after outbox messages")
    return messages
