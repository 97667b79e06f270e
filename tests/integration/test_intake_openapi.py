"""Intake's OpenAPI document, fuzzed by schemathesis against a real intake process (uvicorn on
a free port, real PostgreSQL and Kafka): no generated input may produce a server error.

Path parameters are pinned to a seeded school, teacher and document so generated requests
reach the handlers' logic rather than stopping at 404s. Only the `not_a_server_error` check
decides (the issue's rule); the run takes well under a minute.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from shared.auth import mint_token
from tests.integration.test_intake_support import COUNTY, a_person
from tests.support import settings_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
[parameters]
"path.code" = "${ST_SCHOOL}"
"path.teacher_id" = "${ST_TEACHER}"
"path.sha256" = "${ST_DOCUMENT}"
"query.school_code" = "${ST_SCHOOL}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def intake_url(stack_env, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path_factory.mktemp("intake") / "intake.log"
    env = {**os.environ, "TMIS_KAFKA_BOOTSTRAP": stack_env.kafka_bootstrap,
           "TMIS_DATABASE_URL": stack_env.database_url, "TMIS_HTTP_PORT": str(port),
           "TMIS_ENV": "test", "TMIS_INTAKE_SCHEMA_NAME": f"intake_st{uuid4().hex[:8]}"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "intake did not become healthy"
            time.sleep(0.3)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def seed(url: str, token: str) -> dict[str, str]:
    """A school, a teacher and a document for the pinned path parameters."""
    headers = {"Authorization": f"Bearer {token}"}
    code = f"ST{uuid4().hex[:8]}"
    with httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=30) as client:
        school = client.post("/v1/schools", json={"code": code, "name": "模糊测试学校",
                                                  "stage": "junior", "county_code": COUNTY})
        teacher = client.post("/v1/teachers", json={"school_code": code, "record": a_person()})
        doc = client.post("/v1/documents", files={"file": ("p.png", b"\x89PNG\r\n\x1a\n..")})
    assert (school.status_code, teacher.status_code, doc.status_code) == (201, 201, 201)
    return {"ST_SCHOOL": code, "ST_TEACHER": teacher.json()["teacher_id"],
            "ST_DOCUMENT": doc.json()["sha256"]}


def test_no_generated_request_makes_intake_answer_with_a_server_error(
        stack_env, intake_url, tmp_path) -> None:
    url, log = intake_url
    token = mint_token(settings_for(stack_env), "province_admin", ttl_seconds=3600)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {**os.environ, **seed(url, token), "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "--no-color", "--config-file", str(config),
         "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
         "--header", f"Authorization: Bearer {token}", "--max-examples", "25",
         # One worker: hypothesis' lambda introspection trips a CPython 3.11 AST bug when
         # schemathesis runs its phases on several threads (a tool error, not ours).
         "--workers", "1", "--request-timeout", "30", "--seed", "2017"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert "Test cases:" in output, output[-3000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) > 100, output[-2000:]
    assert "ST101" not in output and not re.search(r"\[5\d\d\]", output), output[-6000:]
    assert "Network Error" not in output, output[-3000:]
    assert done.returncode == 0, output[-6000:]
    server_log = log.read_text(errors="replace")
    assert "Exception in ASGI application" not in server_log, server_log[-6000:]
