"""Kafka plumbing: the idempotent producer, topic provisioning, and SASL credentials.

Credentials: a program authenticates with SASL/SCRAM-SHA-512 when TMIS_KAFKA_USERNAME and
TMIS_KAFKA_PASSWORD are set (`tmis up`, secure by default, gives each service its
own principal); unset, it connects in plaintext exactly as before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.topics import PUBLIC_TOPICS, TOPICS

SASL_MECHANISM = "SCRAM-SHA-512"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class KafkaCredentials:
    """A SASL/SCRAM principal's name and password (SASL_PLAINTEXT: the local stack has no TLS)."""

    username: str
    password: str
    mechanism: str = SASL_MECHANISM

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username, "sasl_plain_password": self.password}

    def __repr__(self) -> str:  # never log a password
        return f"KafkaCredentials({self.username!r}, mechanism={self.mechanism!r})"


def credentials_from_env(environ: Mapping[str, str] | None = None) -> KafkaCredentials | None:
    """TMIS_KAFKA_USERNAME / TMIS_KAFKA_PASSWORD, or None (plaintext)."""
    env = os.environ if environ is None else environ
    username, password = env.get("TMIS_KAFKA_USERNAME"), env.get("TMIS_KAFKA_PASSWORD")
    if not username or not password:
        return None
    return KafkaCredentials(username, password,
                            env.get("TMIS_KAFKA_SASL_MECHANISM") or SASL_MECHANISM)


def client_security(credentials: KafkaCredentials | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments for `credentials`, else for the environment's ({} if none)."""
    creds = credentials or credentials_from_env()
    return creds.client_kwargs() if creds else {}


def bootstrap_servers(bootstrap: str) -> list[str]:
    """``host:port,host:port`` as a list: aiokafka splits such a string itself, faststream's
    KafkaBroker does not (it would take the whole string for one host)."""
    return [part.strip() for part in bootstrap.split(",") if part.strip()]


def make_producer(bootstrap: str, client_id: str,
                  credentials: KafkaCredentials | None = None) -> AIOKafkaProducer:
    """acks=all with the idempotent producer: no loss, no duplicates from producer retries,
    and per-partition order kept across retries. Batches linger 5 ms and are lz4-compressed
    (our JSON envelopes shrink about 3x, so the broker writes and replicates a third)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id=client_id, enable_idempotence=True, acks="all",
        linger_ms=5, max_batch_size=512 * 1024, max_request_size=MAX_MESSAGE_BYTES,
        compression_type="lz4", request_timeout_ms=30000, **client_security(credentials),
    )


@dataclass(frozen=True)
class Replication:
    """How many copies a new topic gets, and how many must have a write before acks=all
    answers: the cluster's own ``default.replication.factor`` and ``min.insync.replicas``
    (1 and 1 on a single broker; 3 and 2 on the local three-broker cluster)."""

    factor: int = 1
    min_insync: int = 1

    def topic_configs(self) -> dict[str, str]:
        # a single broker's topics keep exactly the configs they always had
        return {"min.insync.replicas": str(self.min_insync)} if self.factor > 1 else {}


def _wanted(names: list[str] | None, replication: Replication = Replication()) -> list[NewTopic]:
    rf, extra = replication.factor, replication.topic_configs()
    out = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=rf,
                    topic_configs={"retention.ms": "-1",
                                   "max.message.bytes": str(MAX_MESSAGE_BYTES), **extra})
           for t in TOPICS if names is None or t.name in names]
    # Public topics: unlimited retention, never compacted (see PublicTopic's docstring).
    out += [NewTopic(t.name, num_partitions=t.partitions, replication_factor=rf,
                     topic_configs={"cleanup.policy": t.cleanup_policy,
                                    "retention.ms": str(t.retention_ms), "retention.bytes": "-1",
                                    "max.message.bytes": str(MAX_MESSAGE_BYTES), **extra})
            for t in PUBLIC_TOPICS if names is None or t.name in names]
    return out


async def cluster_replication(admin: AIOKafkaAdminClient) -> Replication:
    """The cluster's replication defaults, read from one live broker's config; the single
    broker's (1, 1) when they cannot be read (e.g. a principal without DescribeConfigs: under
    SASL the admin provisions the topics)."""
    wanted = ["default.replication.factor", "min.insync.replicas"]
    try:
        brokers = (await admin.describe_cluster())["brokers"]
        node = str(min(b["node_id"] for b in brokers))
        answers = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.BROKER, node, dict.fromkeys(wanted))])
        resource = answers[0].resources[0]
        if resource[0]:  # error_code
            return Replication()
        values = {entry[0]: entry[1] for entry in resource[4]}
        factor = int(values.get("default.replication.factor") or 1)
        return Replication(factor, min(int(values.get("min.insync.replicas") or 1), factor))
    except Exception:  # unreadable: the single broker's defaults
        return Replication()


async def ensure_topics(bootstrap: str, names: list[str] | None = None,
                        credentials: KafkaCredentials | None = None) -> None:
    """Create the registry's topics (internal and public) that do not exist yet (idempotent).

    Under SASL a service sees only the topics its ACLs allow; creating the others is refused
    per topic in the response (not raised), and the secure stack's admin provisions them.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tmis-provisioner",
                                **client_security(credentials))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [t for t in _wanted(names) if t.name not in existing]
        if new:
            new = [t for t in _wanted(names, await cluster_replication(admin))
                   if t.name not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
