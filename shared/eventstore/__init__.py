"""Append-only event store with optimistic concurrency and a transactional outbox."""

from shared.eventstore.store import Append, EventStore, Metadata, UnitOfWork

__all__ = ["Append", "EventStore", "Metadata", "UnitOfWork"]
