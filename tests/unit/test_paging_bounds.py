"""Paging parameters are bounded: an offset PostgreSQL cannot hold is a 422 at the door, never a
500 from the database (the handler, and so the database, is not reached)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.intake.entrypoints import api as intake_api
from services.intake.entrypoints import api_accounts
from services.review.entrypoints import api as review_api
from shared.auth import Role, mint_token
from shared.paging import OFFSET_MAX
from shared.settings import Settings

BEYOND_INT64 = str(2**63)


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    for module in (review_api, intake_api, api_accounts):
        app.include_router(module.router)
    token = mint_token(Settings(), Role.PROVINCE_ADMIN)  # no runtime: the dev key verifies it
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("path", [
    "/v1/queue", "/v1/accounts", "/v1/teachers?school_code=6201020001", "/v1/schools"])
@pytest.mark.parametrize("offset", [BEYOND_INT64, str(OFFSET_MAX + 1), "-1"])
def test_an_offset_out_of_bounds_is_a_422(client: TestClient, path: str, offset: str):
    sep = "&" if "?" in path else "?"
    answer = client.get(f"{path}{sep}offset={offset}")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "offset"]


def test_the_account_audit_cursor_beyond_int64_is_a_422(client: TestClient):
    answer = client.get(f"/v1/accounts/audit?before={BEYOND_INT64}")
    assert answer.status_code == 422


def test_a_review_queue_limit_past_its_page_size_is_a_422(client: TestClient):
    assert client.get("/v1/queue?limit=501").status_code == 422
