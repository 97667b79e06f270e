"""Who may read and write the topics: the ACL grants of the secure stack (pure), and
docker-compose.yml carrying the same grants and topics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.local import kafka_security as ks
from deploy.local.errors import StackError
from deploy.local.services import SERVICES
from shared.contracts.topics import PUBLIC_TOPICS, TOPICS

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
yaml = pytest.importorskip("yaml")  # PyYAML comes with the dev dependencies (schemathesis)


def grants_of(principal_grants: list[ks.Grant]) -> set[tuple[str, str, str, str]]:
    """(operation, resource kind, name, pattern) for every ACL the grants add."""
    out = set()
    for g in principal_grants:
        for op in g.operations:
            out |= {(op, "topic", t, g.pattern) for t in g.topics}
            out |= {(op, "group", n, g.pattern) for n in g.groups}
    return out


def test_an_agency_may_only_read_and_describe_public_topics_and_its_own_groups():
    acls = grants_of(ks.agency_grants("finance"))
    assert acls == {("Read", "topic", "tmis.public.", "prefixed"),
                    ("Describe", "topic", "tmis.public.", "prefixed"),
                    ("Read", "group", "agency-finance.", "prefixed"),
                    ("Describe", "group", "agency-finance.", "prefixed")}
    assert all(g.principal == "agency-finance" for g in ks.agency_grants("finance"))


def test_no_agency_group_prefix_is_a_prefix_of_another_agencys():
    assert not ks.agency_group_prefix("fin-1").startswith("agency-fin.")
    assert not "agency-finance.subsidy".startswith(ks.agency_group_prefix("fin"))


@pytest.mark.parametrize("name", ["Finance", "a", "fin.ance", "-x", "x" * 40, "fin/../x"])
def test_agency_names_that_could_widen_a_prefix_or_break_a_command_are_refused(name):
    with pytest.raises(StackError):
        ks.check_agency_name(name)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_only_its_own_topics_its_public_topics_and_the_dead_letters(service):
    written = {name for op, kind, name, _ in grants_of(ks.service_grants(service))
               if op == "Write"}
    owned = {t.name for t in TOPICS if t.owner == service}
    public = {t.name for t in PUBLIC_TOPICS if t.owner == service}
    assert written == owned | public | {"tmis.deadletter.v1"}


def test_only_intake_review_and_reporting_publish_public_topics_and_nobody_reads_them():
    for service in SERVICES:
        acls = grants_of(ks.service_grants(service))
        assert not {a for a in acls if a[0] == "Read" and a[2].startswith("tmis.public.")}
    assert {t.owner for t in PUBLIC_TOPICS} == {"intake", "review", "reporting"}


def test_the_secure_broker_refuses_everyone_without_an_acl():
    found = ks.Secrets(admin="a" * 10, controller="c" * 10)
    props = ks.server_properties(found, 9092, 9093, Path("/data"))
    assert "allow.everyone.if.no.acl.found=false" in props
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" \
        in props
    assert "PLAINTEXT://" not in props.replace("SASL_PLAINTEXT://", "")
    assert re.search(r"^super\.users=User:admin;User:controller$", props, re.M)


def test_every_service_and_the_admin_are_written_into_the_metadata_at_format_time():
    found = ks.Secrets(admin="adm", controller="ctl",
                       services={s: f"{s}-pw" for s in SERVICES})
    args = " ".join(ks.format_args(found))
    for name, pw in [("admin", "adm"), *((f"svc-{s}", f"{s}-pw") for s in SERVICES)]:
        assert f"SCRAM-SHA-512=[name={name},password={pw}]" in args


def compose_script(service: str) -> str:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"][service]["command"][2]


@pytest.mark.parametrize("service", SERVICES)
def test_docker_compose_grants_each_service_exactly_what_the_local_stack_does(service):
    lines = {line.strip() for line in compose_script("kafka-init").splitlines()
             if line.strip().startswith(f"acl --allow-principal User:svc-{service} ")}
    expected = {"acl " + " ".join(g.args()[1:]) for g in ks.service_grants(service)}
    assert lines == expected


def test_docker_compose_creates_every_topic_and_every_service_principal():
    init, kafka = compose_script("kafka-init"), compose_script("kafka")
    for t in (*TOPICS, *PUBLIC_TOPICS):
        assert f"topic {t.name} {t.partitions}\n" in init
    for s in SERVICES:
        assert f"name=svc-{s},password=" in kafka
    assert "allow.everyone.if.no.acl.found=false" in kafka
