"""Helpers for integration tests that read what really reached Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.envelope import Envelope


async def read_topic(bootstrap: str, topic: str, *, keep: Callable[[Envelope], bool],
                     expect: int, timeout: float = 60.0) -> list[tuple[int, Envelope]]:
    """Read `topic` from the beginning with a group-less consumer; return (partition, envelope)
    for every message `keep` accepts, in partition order. Stops once `expect` messages were kept
    and the consumer reached the end offsets seen at that moment (so duplicates would show)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=None,
                                client_id=f"test-reader-{uuid4().hex[:6]}")
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        kept: list[tuple[int, Envelope]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for tp, records in batch.items():
                for rec in records:
                    env = Envelope.from_bytes(rec.value)
                    if keep(env):
                        kept.append((tp.partition, env))
            if len(kept) >= expect:
                ends = await consumer.end_offsets(tps)
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                    return kept
        return kept
    finally:
        await consumer.stop()
