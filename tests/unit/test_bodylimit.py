"""Request bodies are bounded as they arrive (chunked ones too), uploads need a signed-in caller
before a byte is read, and reporting checks the baseline importer's role before the body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from services.reporting.bootstrap import SPEC as REPORTING
from services.reporting.entrypoints.api import router as reporting_router
from shared.auth import mint_token
from shared.bodylimit import BodyRule
from shared.runtime import install_basics
from shared.settings import Settings
from tests.attacks import Counted

SETTINGS = Settings(jwt_secret="unit-test-secret-unit-test-secret-1234")
MiB = 1024 * 1024


class Recorder:
    """What the handlers got to see and what they wrote (the "events")."""

    def __init__(self) -> None:
        self.events: list[int] = []
        self.read = 0


def an_app(recorder: Recorder) -> FastAPI:
    app = FastAPI()
    app.state.runtime = None  # shared.auth falls back to the environment's settings
    install_basics(app, "test", [BodyRule("POST", "/v1/uploads", 1 * MiB, "upload (上传文件)")])

    @app.post("/v1/uploads")
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            recorder.read = size
        recorder.events.append(size)
        return {"size": size}

    @app.post("/v1/notes")
    async def note(request: Request) -> dict[str, int]:
        body = await request.body()
        recorder.events.append(len(body))
        return {"size": len(body)}

    return app


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TMIS_JWT_SECRET", SETTINGS.jwt_secret)
    return mint_token(SETTINGS, "school_admin", school_code="6201020001")


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(token: str) -> None:
    recorder = Recorder()
    async with client(an_app(recorder)) as c:
        r = await c.post("/v1/uploads", content=chunks(3 * MiB),
                         headers={"Authorization": f"Bearer {token}"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
    assert "请求内容超过大小限制" in r.json()["message"] and "upload" in r.json()["message"]
    assert recorder.events == [] and recorder.read <= 1 * MiB + 64 * 1024


async def test_a_chunked_body_under_the_limit_goes_through(token: str) -> None:
    recorder = Recorder()
    async with client(an_app(recorder)) as c:
        r = await c.post("/v1/uploads", content=chunks(512 * 1024),
                         headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and recorder.events == [512 * 1024]


async def test_every_other_route_has_the_default_limit_chunked_or_declared(token: str) -> None:
    recorder = Recorder()
    async with client(an_app(recorder)) as c:
        chunked = await c.post("/v1/notes", content=chunks(3 * MiB))
        declared = await c.post("/v1/notes", content=b"x" * (3 * MiB))
        small = await c.post("/v1/notes", content=b"x" * 1000)
    assert chunked.status_code == declared.status_code == 413
    assert "request body" in declared.json()["message"]
    assert small.status_code == 200 and recorder.events == [1000]


async def test_an_unauthenticated_large_upload_is_refused_before_a_byte_is_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMIS_JWT_SECRET", SETTINGS.jwt_secret)
    recorder = Recorder()
    async with client(an_app(recorder)) as c:
        anonymous = await c.post("/v1/uploads", content=chunks(3 * MiB))
        forged = await c.post("/v1/uploads", content=chunks(3 * MiB),
                              headers={"Authorization": "Bearer not.a.token"})
    assert anonymous.status_code == forged.status_code == 401
    assert "bearer" in anonymous.json()["message"]
    assert recorder.read == 0 and recorder.events == []


async def test_a_teachers_upload_is_refused_before_a_byte_is_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMIS_JWT_SECRET", SETTINGS.jwt_secret)
    teacher = mint_token(SETTINGS, "teacher", school_code="6201020001", teacher_id="t-1")
    recorder = Recorder()
    async with client(an_app(recorder)) as c:
        r = await c.post("/v1/uploads", content=chunks(3 * MiB),
                         headers={"Authorization": f"Bearer {teacher}"})
    assert r.status_code == 403 and "教师账号只能查看本人信息" in r.json()["message"]
    assert recorder.read == 0 and recorder.events == []


async def test_reporting_checks_the_importers_role_before_reading_the_baseline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMIS_JWT_SECRET", SETTINGS.jwt_secret)
    app = FastAPI()
    app.state.runtime = None
    install_basics(app, "reporting", REPORTING.body_limits)
    app.include_router(reporting_router)
    body = Counted(chunks(8 * MiB))
    county = mint_token(SETTINGS, "county_admin", county_code="620102")
    async with client(app) as c:
        r = await c.post("/v1/baselines", content=body, headers={
            "Authorization": f"Bearer {county}",
            "Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 403 and "仅省级账号可导入基数表" in r.json()["message"]
    assert body.sent <= 128 * 1024  # what the transport had buffered, not the 8 MiB

