"""Event contracts: the envelope, every payload, the topic registry, schema export."""

from shared.contracts import events as events
from shared.contracts import events_accounts as events_accounts
from shared.contracts.base import EventPayload, parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.topics import DEAD_LETTER_TOPIC, TOPICS, topic_for_category

__all__ = [
    "DEAD_LETTER_TOPIC",
    "TOPICS",
    "Envelope",
    "EventPayload",
    "events",
    "events_accounts",
    "parse_payload",
    "topic_for_category",
]
