"""Reading the log from its beginning, for a rebuild: Kafka topics and review's own store.

`read_topics` uses a group-less consumer (no offsets committed, nothing shared with the live
consumer group), assigns every partition, notes the end offsets, and yields batches until each
partition reached the end offset noted at the start. Messages that are not envelopes are
counted and skipped, as the live consumer dead-letters them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.eventstore.store import EventStore
from shared.kafka import client_security


@dataclass
class LogCounts:
    messages: int = 0
    unparseable: int = 0


async def read_topics(bootstrap: str, topics: Sequence[str], *, batch_size: int,
                      counts: LogCounts) -> AsyncIterator[list[Envelope]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                client_id=f"tmis-replay-{uuid4().hex[:6]}",
                                max_partition_fetch_bytes=8 * 1024 * 1024,
                                **client_security())
    await consumer.start()
    try:
        tps: list[TopicPartition] = []
        for topic in topics:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            tps += [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch_size)
            envelopes: list[Envelope] = []
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= ends[tp]:
                        continue  # written after the rebuild started: the live consumer has it
                    counts.messages += 1
                    try:
                        envelopes.append(Envelope.from_bytes(rec.value or b""))
                    except (ValidationError, ValueError):
                        counts.unparseable += 1
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if envelopes:
                yield envelopes
    finally:
        await consumer.stop()


async def read_store(pool: asyncpg.Pool, store: EventStore, *, batch_size: int
                     ) -> AsyncIterator[list[Envelope]]:
    """Every event of a store, in position order, up to the last position at the start."""
    async with pool.acquire() as conn:
        last = await conn.fetchval(
            f"SELECT coalesce(max(position), 0) FROM {store.schema}.events")
        after = 0
        while after < last:
            async with conn.transaction():
                envelopes = [e for e in await store.read_all(conn, after, batch_size)
                             if e.position <= last]
            if not envelopes:
                return
            after = envelopes[-1].position
            yield envelopes
