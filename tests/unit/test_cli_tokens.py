"""The CLI mints tokens from the local key only in dev and test; elsewhere it says to sign in."""

from __future__ import annotations

import jwt
import pytest

from shared.settings import DEV_SECRET
from tmis_cli.commands import report
from tmis_cli.main import main

REAL_KEY = "a-real-secret-from-the-vault-0123456789"


@pytest.mark.parametrize("argv, url_env", [
    (["report", "stages"], "TMIS_REPORTING_URL"),
    (["orgsync", "pending"], "TMIS_ORGSYNC_URL"),
])
def test_report_and_orgsync_mint_no_service_token_in_production(argv, url_env, monkeypatch,
                                                                capsys):
    monkeypatch.setenv("TMIS_ENV", "production")
    monkeypatch.setenv("TMIS_JWT_SECRET", REAL_KEY)
    monkeypatch.delenv("TMIS_TOKEN", raising=False)
    monkeypatch.setenv(url_env, "http://127.0.0.1:9")  # never reached
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "TMIS_ENV=production" in err and "TMIS_TOKEN" in err


def test_in_production_the_cli_uses_the_token_it_is_given(monkeypatch):
    monkeypatch.setenv("TMIS_ENV", "production")
    monkeypatch.setenv("TMIS_JWT_SECRET", REAL_KEY)
    monkeypatch.setenv("TMIS_TOKEN", "signed-in-token")
    assert report.token() == "signed-in-token"


@pytest.mark.parametrize("env", ["dev", "test"])
def test_in_dev_and_test_the_cli_mints_a_province_wide_service_token(env, monkeypatch):
    monkeypatch.setenv("TMIS_ENV", env)
    monkeypatch.delenv("TMIS_JWT_SECRET", raising=False)
    monkeypatch.delenv("TMIS_TOKEN", raising=False)
    claims = jwt.decode(report.token(), DEV_SECRET, algorithms=["HS256"])
    assert claims["role"] == "service" and claims["exp"] > claims["iat"]
