"""Kafka plumbing: the idempotent producer and topic provisioning."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.topics import TOPICS


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """acks=all with the idempotent producer: no loss, no duplicates from producer retries,
    and per-partition order kept across retries."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id=client_id, enable_idempotence=True, acks="all",
        linger_ms=5, max_batch_size=512 * 1024, max_request_size=4 * 1024 * 1024,
        request_timeout_ms=30000,
    )


async def ensure_topics(bootstrap: str, names: list[str] | None = None) -> None:
    """Create the registry's topics that do not exist yet (idempotent)."""
    wanted = [t for t in TOPICS if names is None or t.name in names]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tmis-provisioner")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=1,
                        topic_configs={"retention.ms": "-1",
                                       "max.message.bytes": str(4 * 1024 * 1024)})
               for t in wanted if t.name not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
