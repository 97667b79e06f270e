"""docker-compose.yml keeps its data in named volumes; docker-compose.prod.yml requires every
secret, runs every service in production mode and publishes only the web front; the image holds
the whole CLI with its dependencies in a layer of their own. (No Docker engine here: these read
the files as compose and docker would.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class ComposeLoader(yaml.SafeLoader):
    """YAML as compose reads it: `!reset` (an override that empties a list) kept as a marker."""


ComposeLoader.add_constructor("!reset", lambda loader, node: "!reset")


def compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / name).read_text(encoding="utf-8"),
                                       Loader=ComposeLoader)
    return loaded


def test_kafka_and_postgresql_keep_their_data_in_named_volumes_across_a_down() -> None:
    base = compose("docker-compose.yml")
    assert set(base["volumes"]) == {"kafka-data", "postgres-data"}
    assert "kafka-data:/var/lib/kafka/data" in base["services"]["kafka"]["volumes"]
    assert "log.dirs=/var/lib/kafka/data\n" in base["services"]["kafka"]["command"][2]
    assert ("postgres-data:/var/lib/postgresql/data"
            in base["services"]["postgres"]["volumes"])


def test_production_publishes_only_the_web_front() -> None:
    base, prod = compose("docker-compose.yml"), compose("docker-compose.prod.yml")
    published = {name for name, svc in base["services"].items() if svc.get("ports")}
    reset = {name for name, svc in prod["services"].items() if svc.get("ports") == "!reset"}
    assert published - reset == {"web"}


def test_production_runs_every_service_in_production_mode() -> None:
    base, prod = compose("docker-compose.yml"), compose("docker-compose.prod.yml")
    in_dev = {name for name, svc in base["services"].items()
              if "TMIS_ENV" in str(svc.get("environment", {}))
              or "<<" in svc.get("environment", {})}
    for name in in_dev:
        assert prod["services"][name]["environment"]["TMIS_ENV"] == "production", name


def test_production_leaves_no_secret_with_a_development_default() -> None:
    text = (ROOT / "docker-compose.prod.yml").read_text(encoding="utf-8")
    uses = re.findall(r"\$\{([A-Z_]+)(:[?-])?", text)
    assert uses and all(mode == ":?" for _, mode in uses)
    base = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    with_defaults = set(re.findall(r"\$\{([A-Z_]+):-", base))
    assert with_defaults <= {name for name, _ in uses}
    prod = compose("docker-compose.prod.yml")
    assert "POSTGRES_PASSWORD" in prod["services"]["postgres"]["environment"]
    for name in ("intake", "review", "orgsync", "reporting"):
        env = prod["services"][name]["environment"]
        assert env["TMIS_JWT_SECRET"].startswith("${TMIS_JWT_SECRET:?")
        assert "${TMIS_POSTGRES_PASSWORD:?" in env["TMIS_DATABASE_URL"]


def test_the_image_installs_its_dependencies_before_copying_the_code_and_holds_the_cli() -> None:
    steps = [line for line in (ROOT / "deploy/Dockerfile").read_text().splitlines()
             if re.match(r"^(COPY|RUN|FROM)\b", line)]
    deps = next(i for i, s in enumerate(steps) if "constraints.txt" in s and s.startswith("COPY"))
    code = [i for i, s in enumerate(steps) if s.startswith("COPY") and i != deps]
    assert code and deps < min(code)
    copied = {s.split()[1] for s in steps if s.startswith("COPY")}
    assert {"shared", "services", "tmis_cli", "deploy", "simulator"} <= copied
    assert any("pip install --no-deps ." in s for s in steps)


def test_the_build_context_leaves_out_the_venv_git_and_the_stack_state() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", ".git", ".tmis", "tests"} <= ignored
