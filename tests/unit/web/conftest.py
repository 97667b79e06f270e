"""The web app against the fake backends, and a browser-like client signed in as someone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from services.web.bootstrap import create_app
from services.web.config import WebSettings
from tests.unit.web.fakes import URLS, FakeBackends


@pytest.fixture
def backends() -> FakeBackends:
    return FakeBackends()


@pytest.fixture
def client(backends: FakeBackends) -> Iterator[TestClient]:
    settings = WebSettings(intake_url=URLS["intake"], review_url=URLS["review"],
                           orgsync_url=URLS["orgsync"], reporting_url=URLS["reporting"],
                           web_csrf_secret="unit-test-csrf-key")
    app = create_app(settings, transport=backends.transport())
    with TestClient(app, follow_redirects=False) as c:
        yield c


def signin_token(client: TestClient, path: str = "/login") -> str:
    """Open the sign-in page (as a browser does) and take its form's one-time value."""
    page = client.get(path).text
    found = re.search(r'name="signin_token" value="([^"]+)"', page)
    assert found, "the sign-in page has no signin_token"
    return found.group(1)


@pytest.fixture
def sign_in(client: TestClient) -> Callable[[str], TestClient]:
    passwords = {"school1": "right-password-1", "county1": "right-password-2",
                 "prov1": "right-password-3"}

    def signed_in(username: str) -> TestClient:
        answer = client.post("/login", data={"username": username,
                                             "password": passwords[username],
                                             "signin_token": signin_token(client)})
        assert answer.status_code == 303, answer.text
        return client

    return signed_in
