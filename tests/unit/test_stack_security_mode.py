"""Which Kafka `tmis up` starts (secure by default), and how `tmis` commands find the local
stack's admin credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import kafka_security
from deploy.local.kafka import KafkaPaths
from deploy.local.state import KafkaRecord, StackState, save
from tmis_cli.main import local_kafka_credentials


def formatted(state_dir: Path, *, secure: bool, port: int = 19092) -> Path:
    """A state dir whose Kafka was formatted (plain or secure) and recorded on `port`."""
    data = KafkaPaths(state_dir).data
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=x\n")
    if secure:
        kafka_security.save_secrets(state_dir, kafka_security.Secrets(
            admin="admin-pw", controller="ctl-pw", services={"intake": "svc-pw"}))
    save(state_dir, StackState(kafka=KafkaRecord(port=port, controller_port=port + 1)))
    return state_dir


@pytest.fixture(autouse=True)
def no_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kafka_security.ENV_SWITCH, raising=False)


def test_a_new_stack_is_secure_by_default(tmp_path: Path) -> None:
    assert kafka_security.requested(None, tmp_path) is True


def test_insecure_flag_and_plaintext_switch_opt_out(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert kafka_security.requested(False, tmp_path) is False
    monkeypatch.setenv(kafka_security.ENV_SWITCH, "plaintext")
    assert kafka_security.requested(None, tmp_path) is False
    assert kafka_security.requested(True, tmp_path) is True


def test_a_formatted_stack_keeps_its_mode(tmp_path: Path) -> None:
    assert kafka_security.requested(None, formatted(tmp_path / "plain", secure=False)) is False
    assert kafka_security.requested(None, formatted(tmp_path / "sasl", secure=True)) is True


def test_the_web_front_gets_no_kafka_principal(tmp_path: Path) -> None:
    state_dir = formatted(tmp_path, secure=True)
    assert kafka_security.kafka_services(["intake", "web", "reporting"]) == ["intake",
                                                                             "reporting"]
    assert kafka_security.service_env(state_dir, "web") == {}
    assert kafka_security.service_env(state_dir, "intake")["TMIS_KAFKA_USERNAME"] == \
        "svc-intake"


def test_commands_connect_as_the_admin_of_a_secure_local_stack(tmp_path: Path) -> None:
    env = {"TMIS_HOME": str(formatted(tmp_path, secure=True))}
    local_kafka_credentials(env)
    assert env["TMIS_KAFKA_USERNAME"] == "admin"
    assert env["TMIS_KAFKA_PASSWORD"] == "admin-pw"


def test_credentials_someone_gave_are_kept(tmp_path: Path) -> None:
    env = {"TMIS_HOME": str(formatted(tmp_path, secure=True)),
           "TMIS_KAFKA_USERNAME": "agency-finance", "TMIS_KAFKA_PASSWORD": "theirs"}
    local_kafka_credentials(env)
    assert env["TMIS_KAFKA_USERNAME"] == "agency-finance"
    assert env["TMIS_KAFKA_PASSWORD"] == "theirs"


def test_another_broker_does_not_get_the_local_admin_password(tmp_path: Path) -> None:
    env = {"TMIS_HOME": str(formatted(tmp_path, secure=True, port=19092)),
           "TMIS_KAFKA_BOOTSTRAP": "kafka.example:9092"}
    local_kafka_credentials(env)
    assert "TMIS_KAFKA_PASSWORD" not in env


def test_a_plain_local_stack_needs_no_credentials(tmp_path: Path) -> None:
    env = {"TMIS_HOME": str(formatted(tmp_path, secure=False))}
    local_kafka_credentials(env)
    assert "TMIS_KAFKA_USERNAME" not in env
