"""`tmis token` and `tmis import`: dev tokens, the template, the report table."""

from __future__ import annotations

import io
from pathlib import Path

import jwt
import pytest

from services.intake.adapters.tabular import open_rows
from shared.settings import DEV_SECRET
from tmis_cli.commands.intake import print_report
from tmis_cli.main import main


def test_a_dev_token_carries_the_role_and_region(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMIS_JWT_SECRET", raising=False)
    monkeypatch.setenv("TMIS_ENV", "dev")
    assert main(["token", "--role", "county_admin", "--county", "620102"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), DEV_SECRET, algorithms=["HS256"])
    assert (claims["role"], claims["county"]) == ("county_admin", "620102")


def test_tokens_are_not_minted_in_production(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMIS_ENV", "production")
    monkeypatch.setenv("TMIS_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    assert main(["token", "--role", "service"]) == 1
    assert "production" in capsys.readouterr().err


def test_the_template_is_written_in_either_format(tmp_path: Path) -> None:
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"t.{fmt}"
        assert main(["import", "--template", "--format", fmt, "-o", str(path)]) == 0
        with path.open("rb") as f:
            assert len(list(open_rows(f))) >= 1


def test_the_report_prints_one_line_per_problem() -> None:
    out = io.StringIO()
    print_report({"school_code": "S1", "rows": 3, "registered": 2, "updated": 0,
                  "unchanged": 0, "failed": 1, "seconds": 0.1,
                  "problems": [{"row": 4, "field": "gender", "column": "性别",
                                "msg": "'x' is not one of 男 or 女"}]}, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("school S1: 3 rows read, 2 registered")
    assert lines[-1].split()[:3] == ["4", "gender", "(性别)"]
