"""``tmis token`` and ``tmis import``: local tokens, and bulk import through the intake API.

    tmis token --role school_admin --school 6201020001      a dev JWT (refused in production)
    tmis import FILE --school CODE                         POST the file to intake, print the
                                                           per-row report, exit 1 if a row failed
    tmis import --template [--format csv|xlsx] [-o PATH]   write the import template

The intake URL comes from TMIS_INTAKE_URL or the local stack's stack.json; the token from
TMIS_TOKEN, or (dev only) one minted for the school.

While intake is briefly away (503 while its database restarts, 502/504, a refused or reset
connection, a timeout) the import is sent again, unchanged, for up to IMPORT_RETRY_SECONDS
(stamina, shared/http_retry.py): safe, because importing the same file twice appends nothing
the second time, and the Idempotency-Key (the file's hash and the school) is the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import stamina

from shared.auth import Role, mint_token
from shared.http_retry import RETRY_STATUSES, RetryableAnswer, backoff
from tmis_cli import CliError
from tmis_cli.tokens import dev_settings, local_token

REPO = Path(__file__).resolve().parents[2]
IMPORT_RETRY_SECONDS = 300.0


def register(subparsers: Any) -> None:
    token = subparsers.add_parser(
        "token", help="DEV ONLY: mint a bearer token (JWT) for a role, naming no account; "
                      "refused when TMIS_ENV=production (real users sign in: tmis account, "
                      "POST /v1/auth/login)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    where = token.add_mutually_exclusive_group()
    where.add_argument("--school", help="school code (school_admin)")
    where.add_argument("--county", help="county code (county_admin, or a query account)")
    where.add_argument("--city", help="city code (city_admin, or a query account)")
    token.add_argument("--subject", help="the token's subject (default: role:region)")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(func=_token)

    imp = subparsers.add_parser(
        "import", help="import a school's teachers from CSV/XLSX, or write the template")
    imp.add_argument("file", nargs="?", type=Path, help="the CSV or XLSX file to import")
    imp.add_argument("--school", help="the school code the file belongs to")
    imp.add_argument("--template", action="store_true", help="write the import template")
    imp.add_argument("--format", choices=("csv", "xlsx"), default="xlsx",
                     help="template format (default xlsx)")
    imp.add_argument("-o", "--output", type=Path, help="template path (default teachers.FORMAT)")
    imp.add_argument("--url", help="intake base URL (default TMIS_INTAKE_URL or stack.json)")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.add_argument("--occurred-at", help="business time of the events, ISO 8601 with offset "
                                           "(province and service tokens only)")
    imp.set_defaults(func=_import)


def _token(args: argparse.Namespace) -> int:
    settings = dev_settings()
    try:
        print(mint_token(settings, args.role, subject=args.subject, school_code=args.school,
                         county_code=args.county, city_code=args.city,
                         ttl_seconds=args.ttl))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return 0


def intake_url(explicit: str | None = None) -> str:
    """--url, else TMIS_INTAKE_URL, else the local stack's record of the intake service."""
    url = explicit or os.environ.get("TMIS_INTAKE_URL")
    if url:
        return url.rstrip("/")
    home = os.environ.get("TMIS_HOME")
    state = Path(home) if home else REPO / ".tmis"
    try:
        doc = json.loads((state / "stack.json").read_text())
        return str(doc["services"]["intake"]["url"]).rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        raise CliError("no intake URL: set TMIS_INTAKE_URL or start the stack (tmis up)") from None


def _import(args: argparse.Namespace) -> int:
    if args.template:
        return _write_template(args.format, args.output)
    if args.file is None or not args.school:
        raise CliError("usage: tmis import FILE --school CODE (or tmis import --template)")
    if not args.file.is_file():
        raise CliError(f"no such file: {args.file}")
    token = os.environ.get("TMIS_TOKEN") or local_token(Role.SCHOOL_ADMIN,
                                                       school_code=args.school)
    url = intake_url(args.url)
    loopback = urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")
    content = args.file.read_bytes()
    key = f"import-{args.school}-{hashlib.sha256(content).hexdigest()[:32]}"
    data = {"school_code": args.school,
            **({"occurred_at": args.occurred_at} if args.occurred_at else {})}
    try:
        with httpx.Client(base_url=url, timeout=900, trust_env=not loopback) as client:
            for attempt in stamina.retry_context(on=backoff, attempts=None,
                                                 timeout=IMPORT_RETRY_SECONDS, wait_max=15.0):
                with attempt:
                    response = client.post(
                        "/v1/imports", files={"file": (args.file.name, content)}, data=data,
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
                    if response.status_code in RETRY_STATUSES:
                        raise RetryableAnswer(response)
    except RetryableAnswer as exc:
        response = exc.response
    except httpx.HTTPError as exc:
        raise CliError(f"intake at {url} did not answer: {exc}") from exc
    body = _json(response)
    if response.status_code != 200:
        raise CliError(_error_text(response.status_code, body))
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print_report(body)
    return 1 if body.get("failed") else 0


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:500]}
    return body if isinstance(body, dict) else {"message": str(body)}


def _error_text(status: int, body: dict[str, Any]) -> str:
    lines = [f"intake answered {status}: {body.get('message', '')}"]
    for p in body.get("problems") or []:
        lines.append(f"  {p.get('loc', '')}: {p.get('msg', '')}")
    return "\n".join(lines)


def print_report(body: dict[str, Any], out: Any = None) -> None:
    out = out or sys.stdout
    print(f"school {body['school_code']}: {body['rows']} rows read, {body['registered']} "
          f"registered, {body['updated']} updated, {body['unchanged']} unchanged, "
          f"{body['failed']} failed ({body['seconds']} s)", file=out)
    problems = body.get("problems") or []
    if not problems:
        return
    field_width = max(len(f"{p['field']} ({p['column']})") for p in problems)
    print(f"\n{'row':>6}  {'field':<{field_width}}  problem", file=out)
    for p in problems:
        field = f"{p['field']} ({p['column']})"
        print(f"{p['row']:>6}  {field:<{field_width}}  {p['msg']}", file=out)


def _write_template(fmt: str, output: Path | None) -> int:
    # services/ ships with the repo checkout; an installed `tmis` script may not see it.
    if (REPO / "services" / "intake").is_dir() and str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from services.intake.adapters.tabular import template_csv, template_xlsx

    path = output or Path(f"teachers.{fmt}")
    path.write_bytes(template_csv() if fmt == "csv" else template_xlsx())
    print(f"wrote the import template to {path}")
    return 0
