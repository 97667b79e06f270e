"""Helpers for the accounts' integration tests (this module holds no tests): services under
their own schemas, a province of accounts built the way it is meant to be (bootstrap, then each
level creates the level below), sign-in, and a log capture.

Places: school A (城关区 620102, 兰州市 620100) is "inside" every regional account built here;
school B (秦州区 620502, 天水市 620500) is "outside" all but the province's.
"""

from __future__ import annotations

import gc
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import structlog

from shared.auth import mint_token
from tests.integration.test_intake_support import a_person
from tests.support import RunningService, running_service, settings_for

COUNTY_A, CITY_A = "620102", "620100"
COUNTY_B, CITY_B = "620502", "620500"
PASSWORD = "Pa55word-for-tests"

# The columns of the authorization matrix: kind x level, then a teacher and a service token.
COLUMNS: tuple[str, ...] = (
    "p.info", "p.sys", "p.query", "c.info", "c.sys", "c.query",
    "y.info", "y.sys", "y.query", "s.info", "s.sys", "s.query", "teacher", "service",
)
KIND = {"info": "info", "sys": "system", "query": "query"}


def schema(prefix: str) -> str:
    return f"{prefix}_t{uuid4().hex[:8]}"


@asynccontextmanager
async def service(spec: Any, stack_env: Any, prefix: str) -> AsyncIterator[RunningService]:
    async with running_service(spec, settings_for(stack_env), schema=schema(prefix)) as svc:
        yield svc


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def service_token(svc: RunningService) -> str:
    return mint_token(svc.settings, "service", subject="tests:bootstrap")


async def a_school(intake: RunningService, county: str) -> str:
    code = f"T{uuid4().hex[:10]}"
    r = await intake.client.post("/v1/schools", json={
        "code": code, "name": f"测试学校{code}", "stage": "primary", "county_code": county},
        headers=intake.auth("province_admin"))
    assert r.status_code == 201, r.text
    return code


async def a_teacher(intake: RunningService, school: str,
                    person: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await intake.client.post("/v1/teachers", json={"school_code": school,
                                                       "record": person or a_person()},
                                 headers=intake.auth("province_admin"))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def create(intake: RunningService, token: str, kind: str, level: str, code: str | None,
                 username: str | None = None, password: str | None = PASSWORD
                 ) -> dict[str, Any]:
    body = {"kind": kind, "level": level, "code": code,
            "username": username or f"u{uuid4().hex[:10]}", "password": password}
    r = await intake.client.post("/v1/accounts", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def sign_in(intake: RunningService, username: str, password: str = PASSWORD) -> str:
    r = await intake.client.post("/v1/auth/login", json={"username": username,
                                                         "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def teacher_token(intake: RunningService, school: str) -> tuple[str, dict[str, Any],
                                                                      str, str]:
    """A teacher of `school` with a credential from the school: (token, teacher, id number,
    credential)."""
    person = a_person()
    teacher = await a_teacher(intake, school, person)
    r = await intake.client.post(f"/v1/teachers/{teacher['teacher_id']}/credential",
                                 headers=intake.auth("school_admin", school_code=school))
    assert r.status_code == 201, r.text
    credential = r.json()["credential"]
    r = await intake.client.post("/v1/auth/teacher", json={"id_number": person["id_number"],
                                                           "credential": credential})
    assert r.status_code == 200, r.text
    return str(r.json()["token"]), teacher, person["id_number"], credential


@dataclass
class Province:
    """Accounts of every kind at every level around school A, built level by level, signed
    in; plus the system administrators of school B's city and county."""

    school_a: str
    school_b: str
    tokens: dict[str, str] = field(default_factory=dict)  # COLUMNS -> bearer token
    usernames: dict[str, str] = field(default_factory=dict)
    account_ids: dict[str, str] = field(default_factory=dict)
    teacher_id: str = ""
    teacher_id_number: str = ""
    teacher_credential: str = ""


async def build_province(intake: RunningService) -> Province:
    """Bootstrap the province's system administrator, then let each level create the next."""
    world = Province(await a_school(intake, COUNTY_A), await a_school(intake, COUNTY_B))
    unit = {"p": ("province", None), "c": ("city", CITY_A), "y": ("county", COUNTY_A),
            "s": ("school", world.school_a)}
    first = await create(intake, service_token(intake), "system", "province", None)
    world.usernames["p.sys"], world.account_ids["p.sys"] = first["username"], first["account_id"]
    world.tokens["p.sys"] = await sign_in(intake, first["username"])
    creator = {"p": "p.sys", "c": "p.sys", "y": "c.sys", "s": "y.sys"}
    for level in ("p", "c", "y", "s"):
        # the unit's system administrator first (by the level above, or itself: the province)
        for kind in ("sys", "info", "query"):
            column = f"{level}.{kind}"
            if column in world.tokens:
                continue
            made_by = creator[level] if kind == "sys" else f"{level}.sys"
            account = await create(intake, world.tokens[made_by], KIND[kind], *unit[level])
            world.usernames[column] = account["username"]
            world.account_ids[column] = account["account_id"]
            world.tokens[column] = await sign_in(intake, account["username"])
    token, teacher, number, credential = await teacher_token(intake, world.school_a)
    world.tokens["teacher"] = token
    world.teacher_id, world.teacher_id_number = teacher["teacher_id"], number
    world.teacher_credential = credential
    world.tokens["service"] = mint_token(intake.settings, "service", subject="tests:service")
    return world


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every structlog line (JSON) and stdlib log record written while inside, in a buffer.

    structlog caches a logger on first use (cache_logger_on_first_use), with the output it was
    configured with then; the capture points every logger already in use at the buffer too."""
    buffer = io.StringIO()
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False)],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=False)
    _forget_cached_loggers()
    handler = logging.StreamHandler(buffer)
    logging.getLogger().addHandler(handler)
    try:
        yield buffer
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.configure(**saved)
        _forget_cached_loggers()


def _forget_cached_loggers() -> None:
    proxy = structlog._config.BoundLoggerLazyProxy
    for obj in gc.get_objects():
        if isinstance(obj, proxy):
            obj.__dict__.pop("bind", None)


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    out = []
    for line in buffer.getvalue().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"raw": line})
    return out
