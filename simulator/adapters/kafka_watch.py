"""How far behind the services' consumers are, read from Kafka itself.

A consumer group has caught up when its committed offset equals the end offset on every
partition of its topics (the services commit only after the projection's transaction, so a
committed offset means applied). `KafkaWatch` reads committed offsets with the admin client and
end offsets with a group-less consumer, using shared.kafka.client_security() so it also works on
a secure (SASL/SCRAM) stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import DEAD_LETTER_TOPIC, TOPICS
from shared.kafka import client_security

INTERNAL_TOPICS: tuple[str, ...] = tuple(t.name for t in TOPICS if t.name != DEAD_LETTER_TOPIC)


@dataclass(frozen=True)
class GroupLag:
    group: str
    lag: int  # messages not yet committed, over all partitions of the group's topics
    partitions: int


class KafkaWatch:
    def __init__(self, bootstrap: str, client_id: str = "tmis-simulator") -> None:
        security = client_security()
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id,
                                         **security)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                         enable_auto_commit=False, client_id=client_id,
                                         **security)
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # also after a failed start
            await self.consumer.stop()
        with contextlib.suppress(Exception):
            await self.admin.close()

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        wanted = [t for t in topics if t not in self._partitions]
        if wanted:
            for t in await self.admin.describe_topics(wanted):
                if t.get("error_code"):
                    continue  # not created yet (or not ours to see): no partitions to wait on
                self._partitions[t["topic"]] = [TopicPartition(t["topic"], p["partition"])
                                                for p in t["partitions"]]
        return [tp for t in topics for tp in self._partitions.get(t, [])]

    async def end_offsets(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        tps = await self.partitions(topics)
        if not tps:
            return {}
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(tps)
        return ends

    async def messages(self, topics: Iterable[str]) -> dict[str, int]:
        """How many messages each topic holds (sum of its partitions' end offsets; the
        topics keep every message)."""
        out: dict[str, int] = {}
        for tp, end in (await self.end_offsets(topics)).items():
            out[tp.topic] = out.get(tp.topic, 0) + end
        return out

    async def lag(self, groups: Mapping[str, Iterable[str]]) -> list[GroupLag]:
        """Per consumer group (-> its topics), the messages it has not committed yet."""
        topics = sorted({t for ts in groups.values() for t in ts})
        ends = await self.end_offsets(topics)
        out = []
        for group, its_topics in sorted(groups.items()):
            mine = [tp for tp in ends if tp.topic in set(its_topics)]
            committed = await self.admin.list_consumer_group_offsets(group, partitions=mine) \
                if mine else {}
            lag = 0
            for tp in mine:
                meta = committed.get(tp)
                done = meta.offset if meta is not None and meta.offset >= 0 else 0
                lag += max(0, ends[tp] - done)
            out.append(GroupLag(group, lag, len(mine)))
        return out
