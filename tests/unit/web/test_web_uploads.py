"""The web front's uploads are bounded: without a session an upload is refused before it is
read (401), a file over its limit is refused while it arrives, chunked or not (413), and the
backends are never called."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from tests.unit.web.fakes import FakeBackends
from tests.unit.web.test_web_pages import SignIn, csrf_of

MiB = 1024 * 1024


def multipart(field: str, size: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """A form with one file of `size` bytes, sent chunked (no Content-Length)."""
    yield (f'--b\r\nContent-Disposition: form-data; name="{field}"; filename="f.pdf"\r\n'
           "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
    for start in range(0, size, chunk):
        yield b"0" * min(chunk, size - start)
    yield b"\r\n--b--\r\n"


FORM = {"Content-Type": "multipart/form-data; boundary=b"}


def test_an_upload_without_a_session_is_refused_before_it_is_read(
        client: TestClient, backends: FakeBackends) -> None:
    answer = client.post("/school/import", content=multipart("file", 30 * MiB), headers=FORM)
    assert answer.status_code == 401
    assert "请先登录后再上传文件" in answer.text
    assert not any(r.url.path == "/v1/imports" for r in backends.requests)


def test_a_chunked_proof_over_its_limit_is_refused_while_it_arrives(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("school1")
    answer = client.post("/school/return-to-post", content=multipart("proof", 8 * MiB),
                         headers=FORM)
    assert answer.status_code == 413
    assert "请求内容超过大小限制 5 MiB" in answer.text and "text/html" in answer.headers[
        "content-type"]
    assert not any(r.url.path == "/v1/documents" for r in backends.requests)
    assert backends.transfers == []


def test_an_ordinary_form_over_the_default_limit_is_refused(sign_in: SignIn) -> None:
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/import").text)
    answer = client.post("/search", data={"csrf_token": csrf, "q": "x" * (3 * MiB)})
    assert answer.status_code == 413 and "2 MiB" in answer.text
