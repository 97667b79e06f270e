"""Access control on the real broker: a secure throwaway Kafka (SASL/SCRAM-SHA-512, ACLs) of
this module's own, started with `start_infra(dir, secure=True)` and stopped at the end.

An agency reads the public topics with its own consumer group and nothing else; a service
principal does what it needs and no more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from shared.kafka import KafkaCredentials, make_producer

pytestmark = pytest.mark.integration

PUBLIC_TEACHERS = "tmis.public.teacher.v1"
PUBLIC_SCHOOLS = "tmis.public.school.v1"
INTAKE_TEACHERS = "tmis.intake.teacher.v1"
REVIEW_DECISIONS = "tmis.review.decision.v1"


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    database_url: str
    state_dir: Path
    admin: KafkaCredentials
    services: dict[str, KafkaCredentials]

    @property
    def kafka_bootstrap(self) -> str:  # what tests.support.settings_for reads
        return self.bootstrap

    def agency(self, name: str) -> KafkaCredentials:
        from deploy.local import kafka, kafka_security

        settings = kafka_security.add_agency(kafka.ensure_kafka_jars(), self.state_dir,
                                             self.bootstrap, name)
        return KafkaCredentials(settings.username, settings.password)


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[SecureBroker]:
    from deploy.local import kafka_security
    from deploy.local.stack import start_infra, stop_infra

    state_dir = Path(tempfile.mkdtemp(prefix="tmis-acl-"))
    state_dir.chmod(0o755)  # as root, PostgreSQL runs as `postgres` and must traverse it
    try:
        bootstrap, database_url = start_infra(state_dir, secure=True)
        found = kafka_security.load_secrets(state_dir)
        yield SecureBroker(
            bootstrap, database_url, state_dir, KafkaCredentials("admin", found.admin),
            {s: KafkaCredentials(f"svc-{s}", p) for s, p in found.services.items()})
    finally:
        stop_infra(state_dir, delete=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def finance(secure_broker: SecureBroker) -> KafkaCredentials:
    return secure_broker.agency(f"finance-{uuid4().hex[:6]}")


@pytest.fixture(autouse=True)
def _quiet_aiokafka():
    # Refusals are what these tests provoke; aiokafka logs each at ERROR.
    log = logging.getLogger("aiokafka")
    level = log.level
    log.setLevel(logging.CRITICAL)
    yield
    log.setLevel(level)


async def produce(bootstrap: str, creds: KafkaCredentials, topic: str, value: bytes,
                  *, idempotent: bool = True) -> None:
    if idempotent:
        producer = make_producer(bootstrap, "acl-test", credentials=creds)
    else:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1,
                                    request_timeout_ms=10000, **creds.client_kwargs())
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"k"), 30)
    finally:
        await producer.stop()


async def consume(bootstrap: str, creds: KafkaCredentials, topic: str, group: str | None,
                  *, until: bytes | None = None) -> list[bytes]:
    """Read `topic` from the beginning (with `group`, committing), until a message equal to
    `until` shows up or the read goes quiet. Authorization errors propagate."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **creds.client_kwargs())
    seen: list[bytes] = []
    try:
        await asyncio.wait_for(consumer.start(), 30)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            seen += [r.value or b"" for records in batch.values() for r in records]
            if until is not None and until in seen:
                break
            if until is None and not batch and seen:
                break
        if group is not None:
            await consumer.commit()
        return seen
    finally:
        with contextlib.suppress(KafkaError):
            await consumer.stop()


async def test_an_agency_reads_the_public_topics_with_its_own_group(secure_broker, finance):
    marker = f"in-post-{uuid4()}".encode()
    await produce(secure_broker.bootstrap, secure_broker.services["intake"], PUBLIC_TEACHERS,
                  marker)
    seen = await consume(secure_broker.bootstrap, finance, PUBLIC_TEACHERS,
                         f"{finance.username}.subsidy", until=marker)
    assert marker in seen


async def test_an_agency_reads_from_the_beginning_without_a_group(secure_broker, finance):
    marker = f"opened-{uuid4()}".encode()
    await produce(secure_broker.bootstrap, secure_broker.services["intake"], PUBLIC_SCHOOLS,
                  marker)
    assert marker in await consume(secure_broker.bootstrap, finance, PUBLIC_SCHOOLS, None,
                                   until=marker)


async def test_an_agency_reading_an_internal_topic_is_refused(secure_broker, finance):
    await produce(secure_broker.bootstrap, secure_broker.services["intake"], INTAKE_TEACHERS,
                  b"internal")
    with pytest.raises(TopicAuthorizationFailedError):
        await consume(secure_broker.bootstrap, finance, INTAKE_TEACHERS,
                      f"{finance.username}.peek")


@pytest.mark.parametrize("topic", [PUBLIC_TEACHERS, INTAKE_TEACHERS, "tmis.deadletter.v1"])
async def test_an_agency_writing_anywhere_is_refused(secure_broker, finance, topic):
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(secure_broker.bootstrap, finance, topic, b"forged", idempotent=False)
    # The idempotent producer is refused earlier: it may not even get a producer id.
    with pytest.raises((ClusterAuthorizationFailedError, TopicAuthorizationFailedError)):
        await produce(secure_broker.bootstrap, finance, topic, b"forged")


async def test_an_agency_using_another_agencys_group_is_refused(secure_broker, finance):
    training = secure_broker.agency(f"training-{uuid4().hex[:6]}")
    await produce(secure_broker.bootstrap, secure_broker.services["intake"], PUBLIC_TEACHERS,
                  b"x")
    with pytest.raises(GroupAuthorizationFailedError):
        await consume(secure_broker.bootstrap, finance, PUBLIC_TEACHERS,
                      f"{training.username}.subsidy")


@pytest.mark.parametrize("group", ["subsidy", "tmis.reporting.reporting", "agency-"])
async def test_an_agency_using_a_group_outside_its_prefix_is_refused(secure_broker, finance,
                                                                     group):
    with pytest.raises(GroupAuthorizationFailedError):
        await consume(secure_broker.bootstrap, finance, PUBLIC_TEACHERS, group)


async def test_a_name_that_extends_an_agencys_name_does_not_share_its_groups(secure_broker):
    short = secure_broker.agency(f"fin{uuid4().hex[:4]}")
    longer_group = f"{short.username}ance.subsidy"  # agency-finXXXXance.*: not short's
    with pytest.raises(GroupAuthorizationFailedError):
        await consume(secure_broker.bootstrap, short, PUBLIC_TEACHERS, longer_group)


async def test_a_service_writes_its_own_and_its_public_topics(secure_broker):
    intake = secure_broker.services["intake"]
    for topic in (INTAKE_TEACHERS, PUBLIC_TEACHERS, "tmis.deadletter.v1"):
        marker = f"{topic}-{uuid4()}".encode()
        await produce(secure_broker.bootstrap, intake, topic, marker)
        assert marker in await consume(secure_broker.bootstrap, secure_broker.admin, topic, None,
                                       until=marker)


async def test_a_service_cannot_read_another_services_topic_it_does_not_follow(secure_broker):
    with pytest.raises(TopicAuthorizationFailedError):
        await consume(secure_broker.bootstrap, secure_broker.services["intake"],
                      REVIEW_DECISIONS, "tmis.intake.spy")


async def test_a_service_cannot_write_another_services_topic(secure_broker):
    with pytest.raises((ClusterAuthorizationFailedError, TopicAuthorizationFailedError)):
        await produce(secure_broker.bootstrap, secure_broker.services["orgsync"],
                      PUBLIC_TEACHERS, b"forged")
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(secure_broker.bootstrap, secure_broker.services["review"], INTAKE_TEACHERS,
                      b"forged", idempotent=False)


async def test_a_service_reads_what_its_projections_follow_with_its_own_groups(secure_broker):
    marker = f"restructuring-{uuid4()}".encode()
    await produce(secure_broker.bootstrap, secure_broker.services["orgsync"],
                  "tmis.orgsync.restructuring.v1", marker)
    seen = await consume(secure_broker.bootstrap, secure_broker.services["intake"],
                         "tmis.orgsync.restructuring.v1", "tmis.intake.restructuring",
                         until=marker)
    assert marker in seen
    with pytest.raises(GroupAuthorizationFailedError):
        await consume(secure_broker.bootstrap, secure_broker.services["intake"],
                      "tmis.orgsync.restructuring.v1", "tmis.review.review_items")


async def test_a_wrong_password_gets_nothing(secure_broker, finance):
    wrong = KafkaCredentials(finance.username, finance.password + "x")
    with pytest.raises(KafkaError):
        await consume(secure_broker.bootstrap, wrong, PUBLIC_TEACHERS, None)


async def test_intake_runs_under_its_own_principal_and_its_public_events_reach_an_agency(
        secure_broker, finance, monkeypatch):
    from services.intake.bootstrap import SPEC
    from shared.contracts.public import find_id_numbers
    from tests.integration.test_intake_support import a_person, a_school, a_teacher
    from tests.support import eventually, running_service, settings_for

    intake = secure_broker.services["intake"]
    monkeypatch.setenv("TMIS_KAFKA_USERNAME", intake.username)  # what `tmis up --secure` sets
    monkeypatch.setenv("TMIS_KAFKA_PASSWORD", intake.password)
    person = a_person()
    async with running_service(SPEC, settings_for(secure_broker),
                               schema=f"intake_t{uuid4().hex[:8]}") as svc:
        school = await a_school(svc, is_rural=True)
        teacher = await a_teacher(svc, school, person)
        outbox = f"SELECT count(*) FROM {svc.runtime.store.schema}.outbox"
        await eventually(lambda: svc.runtime.pool.fetchval(outbox), lambda n: n == 0)
    monkeypatch.delenv("TMIS_KAFKA_USERNAME")
    monkeypatch.delenv("TMIS_KAFKA_PASSWORD")
    schools = await consume(secure_broker.bootstrap, finance, PUBLIC_SCHOOLS, None,
                            until=None)
    assert any(school.encode() in m and b"SchoolOpened" in m for m in schools)
    teachers = await consume(secure_broker.bootstrap, finance, PUBLIC_TEACHERS,
                             f"{finance.username}.e2e")
    mine = [m for m in teachers if teacher["teacher_id"].encode() in m]
    assert len(mine) == 1 and b"TeacherInPost" in mine[0]
    assert person["id_number"].encode() not in mine[0] and find_id_numbers(mine[0].decode()) == []
