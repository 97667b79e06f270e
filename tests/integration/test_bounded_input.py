"""Bounded input on the real stack (intake, PostgreSQL, Kafka): an XLSX bomb, a chunked body
over the limit and an unauthenticated large upload are each refused with a clear 4xx, and
nothing changes (no event, no document row)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.attacks import Counted, bomb
from tests.integration.test_intake_support import a_school, event_count, intake_service
from tests.support import RunningService

pytestmark = pytest.mark.integration
MiB = 1024 * 1024


@pytest.fixture(scope="module")
async def svc(stack_env):
    async for running in intake_service(stack_env):
        yield running


async def documents(svc: RunningService) -> int:
    return int(await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {svc.runtime.store.schema}.documents"))


async def chunks(total: int, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """A multipart upload of a `total`-byte PDF, sent chunked (no Content-Length)."""
    yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="p.pdf"\r\n'
           b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n")
    sent = 0
    while sent < total:
        yield b"0" * min(size, total - sent)
        sent += size


async def test_an_xlsx_bomb_import_is_refused_as_422_and_imports_nothing(
        svc: RunningService) -> None:
    school = await a_school(svc)
    before = await event_count(svc)
    r = await svc.client.post("/v1/imports", files={"file": ("teachers.xlsx", bomb(300))},
                              data={"school_code": school},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 422, r.text
    assert "解压后超过大小限制" in r.json()["problems"][0]["msg"]
    assert await event_count(svc) == before


async def test_a_chunked_document_over_the_limit_is_refused_as_413_and_stores_nothing(
        svc: RunningService) -> None:
    school = await a_school(svc)
    before, docs = await event_count(svc), await documents(svc)
    r = await svc.client.post("/v1/documents", content=chunks(12 * MiB), headers={
        **svc.auth("school_admin", school_code=school),
        "Content-Type": "multipart/form-data; boundary=b"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413, r.text
    assert "请求内容超过大小限制 5 MiB" in r.json()["message"]
    assert await event_count(svc) == before and await documents(svc) == docs


async def test_an_unauthenticated_large_upload_is_refused_as_401_before_it_is_read(
        svc: RunningService) -> None:
    before, docs = await event_count(svc), await documents(svc)
    body = Counted(chunks(40 * MiB))
    r = await svc.client.post("/v1/imports", content=body,
                              headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 401 and "bearer" in r.json()["message"]
    assert body.sent < 1 * MiB  # refused on the headers, not after 40 MiB
    assert await event_count(svc) == before and await documents(svc) == docs
