"""The local Kafka with authentication and authorisation: SASL/SCRAM-SHA-512 and ACLs.

The default of ``tmis up`` (``--insecure`` or ``TMIS_KAFKA_SECURITY=plaintext`` opts out);
``start_infra(state_dir, secure=True)`` for tests and benches, which default to plaintext. A
state dir keeps the mode it was formatted with (``tmis up --fresh`` starts over).

How it is wired (KRaft, one JVM that is broker and controller):

- the client listener is SASL_PLAINTEXT with SCRAM-SHA-512 (no TLS: 127.0.0.1 only); the
  controller listener uses SASL PLAIN with one static user (SCRAM credentials live in the
  metadata log, which the controller listener must reach before it can read them);
- ``StandardAuthorizer``, ``allow.everyone.if.no.acl.found=false``; super users: ``admin`` (the
  tools' principal) and ``controller``;
- ``admin`` and the service principals (``svc-intake``, ``svc-review``, ``svc-orgsync``,
  ``svc-reporting``) are written into the metadata at format time (``StorageTool --add-scram``);
  agency principals (``agency-<name>``) are added on a running broker with ``ConfigCommand``;
- ACLs are added with ``AclCommand`` (aiokafka has no ACL admin API): each service may write its
  own topics, its public topics and the dead-letter topic, read the topics its projections
  follow, and use consumer groups ``tmis.<service>*``; an agency may read and describe
  ``tmis.public.*`` and use groups ``agency-<name>.*`` only.

Secrets live in ``<state>/kafka/security.json`` (mode 0600): generated passwords for the local
stack, never a real credential.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from deploy.local import procs
from deploy.local.asyncio_bridge import run_coroutine
from deploy.local.errors import StackError
from deploy.local.kafka import KafkaPaths, java
from shared.contracts.topics import (
    DEAD_LETTER_TOPIC,
    PUBLIC_TOPIC_PREFIX,
    PUBLIC_TOPICS,
    public_topics_owned_by,
    topics_owned_by,
)
from shared.kafka import KafkaCredentials, ensure_topics

MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"
CONTROLLER_USER = "controller"
SERVICE_PREFIX = "svc-"
AGENCY_PREFIX = "agency-"
ENV_SWITCH = "TMIS_KAFKA_SECURITY"
_AGENCY_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
TOOL_TIMEOUT = 180

# The topics each service's projections (and replays) read; the topics it writes come from the
# registry (owner) plus its public topics and the dead-letter topic.
# Every service but intake also reads the account topic: its token gate (shared/accounts.py).
SERVICE_READS: dict[str, tuple[str, ...]] = {
    "intake": ("tmis.orgsync.restructuring.v1",),
    "review": ("tmis.intake.school.v1", "tmis.intake.teacher.v1", "tmis.intake.account.v1"),
    "orgsync": ("tmis.intake.school.v1", "tmis.intake.teacher.v1", "tmis.intake.account.v1"),
    "reporting": ("tmis.intake.school.v1", "tmis.intake.teacher.v1", "tmis.review.decision.v1",
                  "tmis.orgsync.restructuring.v1", "tmis.reporting.baseline.v1",
                  "tmis.intake.account.v1"),
}

SECURE_SERVER_PROPERTIES = """\
# Written by deploy/local/kafka.py (secure mode, deploy/local/kafka_security.py) on every start.
process.roles=broker,controller
node.id=1
listeners=SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
log.dirs={data}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
num.partitions=3
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
sasl.enabled.mechanisms={mechanism}
sasl.mechanism.inter.broker.protocol={mechanism}
listener.name.sasl_plaintext.{mechanism_lower}.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required \
username="{admin}" password="{admin_password}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=\
org.apache.kafka.common.security.plain.PlainLoginModule required \
username="{controller}" password="{controller_password}" \
user_{controller}="{controller_password}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:{admin};User:{controller}
"""


# --------------------------------------------------------------------------- secrets


@dataclass
class Secrets:
    """The local stack's generated passwords (``<state>/kafka/security.json``)."""

    admin: str
    controller: str
    services: dict[str, str] = field(default_factory=dict)  # service -> password
    agencies: dict[str, str] = field(default_factory=dict)  # agency name -> password
    acl_digest: str = ""  # digest of the service grants last applied


def secrets_path(state_dir: Path) -> Path:
    return KafkaPaths(state_dir).config.parent / "security.json"


def is_secure(state_dir: Path) -> bool:
    """True when this state dir's Kafka was formatted with SASL (its secrets exist)."""
    return secrets_path(state_dir).exists()


def requested(flag: bool | None, state_dir: Path) -> bool:
    """Whether `tmis up` runs Kafka secure: the flag when given (--secure / --insecure), else
    TMIS_KAFKA_SECURITY (sasl | plaintext), else what the state dir's Kafka was formatted as,
    else secure -- the default for a new stack."""
    if flag is not None:
        return flag
    env = os.environ.get(ENV_SWITCH, "").strip().lower()
    if env in ("sasl", "scram", "1", "true"):
        return True
    if env in ("plaintext", "plain", "none", "0", "false"):
        return False
    if (KafkaPaths(state_dir).data / "meta.properties").exists():
        return is_secure(state_dir)
    return True


def _password() -> str:
    return secrets.token_urlsafe(24)


def load_secrets(state_dir: Path) -> Secrets:
    try:
        doc = json.loads(secrets_path(state_dir).read_text())
    except FileNotFoundError:
        raise StackError(f"Kafka in {state_dir} is not secure (no {secrets_path(state_dir)}): "
                         "start it with `tmis up --fresh --secure`") from None
    return Secrets(**doc)


def save_secrets(state_dir: Path, found: Secrets) -> None:
    path = secrets_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(found), f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def check_can_secure(state_dir: Path) -> None:
    """Refuse a data dir formatted without SASL: its metadata has no admin credential, so
    nobody could log in."""
    if not is_secure(state_dir) and (KafkaPaths(state_dir).data / "meta.properties").exists():
        raise StackError(f"Kafka in {state_dir} was formatted without SASL; run "
                         "`tmis up --fresh --secure` to start over secure")


def kafka_services(services: Sequence[str]) -> list[str]:
    """The services that talk to Kafka (and so get a principal); the web front does not."""
    return [s for s in services if s in SERVICE_READS]


def ensure_secrets(state_dir: Path, services: Sequence[str]) -> Secrets:
    """The state dir's secrets, created on first use (see check_can_secure)."""
    if is_secure(state_dir):
        return load_secrets(state_dir)
    check_can_secure(state_dir)
    found = Secrets(admin=_password(), controller=_password(),
                    services={s: _password() for s in kafka_services(services)})
    save_secrets(state_dir, found)
    return found


# --------------------------------------------------------------------------- broker config


def server_properties(found: Secrets, port: int, controller_port: int, data: Path) -> str:
    return SECURE_SERVER_PROPERTIES.format(
        port=port, controller_port=controller_port, data=data, mechanism=MECHANISM,
        mechanism_lower=MECHANISM.lower(), admin=ADMIN, admin_password=found.admin,
        controller=CONTROLLER_USER, controller_password=found.controller)


def format_args(found: Secrets) -> list[str]:
    """StorageTool arguments that write the admin and service credentials into the metadata."""
    users = {ADMIN: found.admin, **{SERVICE_PREFIX + s: p for s, p in found.services.items()}}
    out: list[str] = []
    for name, password in users.items():
        out += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
    return out


def admin_client_kwargs(state_dir: Path) -> dict[str, Any]:
    """aiokafka keyword arguments for the admin (empty when the state dir is not secure)."""
    if not is_secure(state_dir):
        return {}
    return sasl_kwargs(ADMIN, load_secrets(state_dir).admin)


def sasl_kwargs(username: str, password: str) -> dict[str, Any]:
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": MECHANISM,
            "sasl_plain_username": username, "sasl_plain_password": password}


def service_env(state_dir: Path, service: str) -> dict[str, str]:
    """TMIS_KAFKA_USERNAME / TMIS_KAFKA_PASSWORD for a service (empty when not secure)."""
    if not is_secure(state_dir) or service not in SERVICE_READS:  # e.g. web: no Kafka at all
        return {}
    found = load_secrets(state_dir)
    if service not in found.services:
        raise StackError(f"no Kafka principal for service {service}: restart with `tmis up`")
    return {"TMIS_KAFKA_USERNAME": SERVICE_PREFIX + service,
            "TMIS_KAFKA_PASSWORD": found.services[service]}


def admin_env(state_dir: Path) -> dict[str, str]:
    """What `tmis status` prints so local tools connect as the admin."""
    if not is_secure(state_dir):
        return {}
    return {ENV_SWITCH: "sasl", "TMIS_KAFKA_USERNAME": ADMIN,
            "TMIS_KAFKA_PASSWORD": load_secrets(state_dir).admin}


# --------------------------------------------------------------------------- grants (ACLs)


@dataclass(frozen=True)
class Grant:
    """Allow `principal` the `operations` on every listed topic and group (one AclCommand)."""

    principal: str
    operations: tuple[str, ...]
    topics: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    pattern: Literal["literal", "prefixed"] = "literal"

    def args(self) -> list[str]:
        out = ["--add", "--allow-principal", f"User:{self.principal}"]
        for op in self.operations:
            out += ["--operation", op]
        for t in self.topics:
            out += ["--topic", t]
        for g in self.groups:
            out += ["--group", g]
        return [*out, "--resource-pattern-type", self.pattern]


def service_grants(service: str) -> list[Grant]:
    principal = SERVICE_PREFIX + service
    writes = (*topics_owned_by(service), *public_topics_owned_by(service), DEAD_LETTER_TOPIC)
    grants = [Grant(principal, ("Write", "Describe"), topics=writes)]
    if SERVICE_READS.get(service):
        grants.append(Grant(principal, ("Read", "Describe"), topics=SERVICE_READS[service]))
    # Consumer groups are tmis.<schema>.<projection>; tests run a service under schema
    # <service>_t<random>, which this prefix also covers.
    grants.append(Grant(principal, ("Read", "Describe"), groups=(f"tmis.{service}",),
                        pattern="prefixed"))
    return grants


def agency_principal(name: str) -> str:
    return AGENCY_PREFIX + name


def agency_group_prefix(name: str) -> str:
    """Groups an agency may use: ``agency-<name>.<anything>``. The dot matters: a bare prefix
    ``agency-fin`` would also match agency ``finance``'s groups."""
    return f"{agency_principal(name)}."


def agency_grants(name: str) -> list[Grant]:
    return [Grant(agency_principal(name), ("Read", "Describe"), topics=(PUBLIC_TOPIC_PREFIX,),
                  groups=(agency_group_prefix(name),), pattern="prefixed")]


def check_agency_name(name: str) -> str:
    if not _AGENCY_NAME.match(name):
        raise StackError(f"agency name {name!r}: 2-31 characters, lower-case letters, digits "
                         "and '-', starting with a letter (e.g. finance, training-office)")
    return name


def _digest(grants: Sequence[Grant]) -> str:
    return hashlib.sha256(json.dumps([asdict(g) for g in grants]).encode()).hexdigest()


# --------------------------------------------------------------------------- the Java tools


@contextmanager
def _private_file(text: str) -> Iterator[Path]:
    """A 0600 temporary file for the admin's client properties."""
    fd, name = tempfile.mkstemp(prefix="tmis-kafka-", suffix=".properties")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _admin_properties(found: Secrets) -> str:
    return ("security.protocol=SASL_PLAINTEXT\n"
            f"sasl.mechanism={MECHANISM}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{found.admin}";\n')


def _tool(jars: Path, paths: KafkaPaths, main: str, args: Sequence[str], what: str) -> None:
    """Run one of Kafka's command-line tools from the jars (a short-lived JVM, tuned to start
    fast: C1 only, serial GC, small heap)."""
    tool_logs = paths.logs / "tools"
    tool_logs.mkdir(parents=True, exist_ok=True)
    procs.run([java(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
               "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={paths.log4j}",
               f"-Dkafka.logs.dir={tool_logs}", "-cp", f"{jars}/*", main, *args],
              what=what, timeout=TOOL_TIMEOUT)


def add_user(jars: Path, paths: KafkaPaths, bootstrap: str, found: Secrets, username: str,
             password: str) -> None:
    # The password goes on ConfigCommand's command line (its --add-config-file does not take
    # SCRAM entries): visible in the local process list for a second; these are local-stack
    # passwords, printed to the operator anyway.
    with _private_file(_admin_properties(found)) as admin:
        _tool(jars, paths, "kafka.admin.ConfigCommand",
              ["--bootstrap-server", bootstrap, "--command-config", str(admin), "--alter",
               "--entity-type", "users", "--entity-name", username,
               "--add-config", f"{MECHANISM}=[password={password}]"],
              what=f"adding Kafka user {username}")


def apply_grants(jars: Path, paths: KafkaPaths, bootstrap: str, found: Secrets,
                 grants: Sequence[Grant]) -> None:
    """Add the ACLs (idempotent: an ACL that exists is left as it is), a few JVMs at once."""
    with _private_file(_admin_properties(found)) as admin:
        base = ["--bootstrap-server", bootstrap, "--command-config", str(admin)]
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(_tool, jars, paths, "org.apache.kafka.tools.AclCommand",
                                   [*base, *g.args()], f"adding ACLs for {g.principal}")
                       for g in grants]
            for f in futures:
                f.result()


# --------------------------------------------------------------------------- provisioning


def provision(jars: Path, state_dir: Path, bootstrap: str, services: Sequence[str]) -> None:
    """After the broker is up: create every topic as the admin, add service users missing from
    the metadata, and (when the rules changed since last time) the services' ACLs."""
    paths = KafkaPaths(state_dir)
    found = load_secrets(state_dir)
    run_coroutine(ensure_topics(bootstrap, credentials=KafkaCredentials(ADMIN, found.admin)))
    for service in kafka_services(services):
        if service not in found.services:
            found.services[service] = _password()
            add_user(jars, paths, bootstrap, found, SERVICE_PREFIX + service,
                     found.services[service])
            save_secrets(state_dir, found)
    grants = [g for s in sorted(found.services) for g in service_grants(s)]
    if found.acl_digest != _digest(grants):
        apply_grants(jars, paths, bootstrap, found, grants)
        found.acl_digest = _digest(grants)
        save_secrets(state_dir, found)


@dataclass(frozen=True)
class AgencySettings:
    """What an agency needs to connect: printed by `tmis agency add`."""

    name: str
    bootstrap: str
    username: str
    password: str
    group_prefix: str
    topics: tuple[str, ...]

    def lines(self) -> list[str]:
        return [f"bootstrap={self.bootstrap}", "security.protocol=SASL_PLAINTEXT",
                f"sasl.mechanism={MECHANISM}", f"username={self.username}",
                f"password={self.password}",
                f"group.id prefix={self.group_prefix}  (e.g. {self.group_prefix}subsidy)",
                f"topics={','.join(self.topics)}"]


def add_agency(jars: Path, state_dir: Path, bootstrap: str, name: str) -> AgencySettings:
    """Create agency `name`'s principal and ACLs on the running secure broker (idempotent:
    an agency that exists keeps its password and gets its ACLs re-applied)."""
    check_agency_name(name)
    paths = KafkaPaths(state_dir)
    found = load_secrets(state_dir)
    password = found.agencies.get(name)
    if password is None:
        password = _password()
        add_user(jars, paths, bootstrap, found, agency_principal(name), password)
        found.agencies[name] = password
        save_secrets(state_dir, found)
    apply_grants(jars, paths, bootstrap, found, agency_grants(name))
    return AgencySettings(name, bootstrap, agency_principal(name), password,
                          agency_group_prefix(name), tuple(t.name for t in PUBLIC_TOPICS))


def agencies(state_dir: Path) -> Mapping[str, str]:
    """Agency name -> principal, for `tmis agency list`."""
    return {n: agency_principal(n) for n in sorted(load_secrets(state_dir).agencies)}
