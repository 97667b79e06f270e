"""The web front is deployed like the others: `tmis up` starts it (without a Kafka principal)
and docker-compose runs it, told where the four services answer."""

from __future__ import annotations

from pathlib import Path

import yaml

from deploy.local import kafka_security, services

REPO = Path(__file__).resolve().parents[3]


def test_tmis_up_starts_the_web_front_after_the_four_services() -> None:
    assert services.available(REPO) == ["intake", "review", "orgsync", "reporting", "web"]


def test_the_web_front_gets_no_kafka_principal() -> None:
    assert "web" not in services.SERVICES
    assert kafka_security.kafka_services(services.PROCESSES) == list(services.SERVICES)


def test_docker_compose_runs_the_web_front_with_the_four_services_urls() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    web = compose["services"]["web"]
    assert web["command"] == ["python", "-m", "services.web"]
    for name in ("intake", "review", "orgsync", "reporting"):
        assert web["environment"][f"TMIS_{name.upper()}_URL"] == f"http://{name}:8000"
    assert "TMIS_KAFKA_BOOTSTRAP" not in web["environment"]
