"""``tmis report stages|cities|counties|schools|findings|confirmation|comparison``: the
department's comparison views, as of a date, from the reporting service's HTTP API.

    tmis report stages --as-of 2017-04-07                  # a table in the terminal
    tmis report stages --format csv -o stages.csv          # exactly the notice's columns
    tmis report findings --exclude 兰州大学,西北民族大学    # staff excluding named units
    tmis report dashboard                                   # where the dashboard is (sign in)

The service is found at TMIS_REPORTING_URL, else at the URL `tmis up` wrote to the stack state
(`$TMIS_HOME/stack.json` or `<repo>/.tmis/stack.json`); the token is minted locally with
TMIS_JWT_SECRET (the dev secret by default) as a service account. `dashboard` prints the web
front's dashboard page (TMIS_WEB_URL, else the stack state): no token in it, the page asks the
user to sign in (a token in a URL is refused, shared/auth.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from tmis_cli import CliError
from tmis_cli.tokens import local_token

REPORTS = ("stages", "cities", "counties", "schools", "findings", "confirmation", "comparison")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="the comparison views the department publishes (as of a date)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=(*REPORTS, "dashboard"), help="which report")
    parser.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                        help="the state at the end of that day (default: now)")
    parser.add_argument("--format", choices=("table", "csv", "xlsx", "json"), default="table")
    parser.add_argument("--exclude", action="append", metavar="CODE,NAME",
                        help="leave out units (school codes or names), e.g. 兰州大学")
    parser.add_argument("--year", type=int, help="baseline year (default: the year before)")
    parser.add_argument("--city", help="only this city (code)")
    parser.add_argument("--county", help="only this county (code)")
    parser.add_argument("--school", help="only this school (code)")
    parser.add_argument("-o", "--output", type=Path, help="write to this file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.name == "dashboard":
        print(dashboard_url())
        print("sign in there (用户名和密码登录后查看)", file=sys.stderr)
        return 0
    params: dict[str, Any] = {"format": args.format}
    for key in ("as_of", "year", "city", "county", "school"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if args.exclude:
        params["exclude"] = args.exclude
    body = request("GET", f"/v1/reports/{args.name}", params=params).content
    output: Path | None = args.output
    if output is None and args.format == "xlsx":
        output = Path(f"tmis-{args.name}-{args.as_of or 'now'}.xlsx")
    if output is not None:
        output.write_bytes(body)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
        if args.format == "json":
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    return 0


# --------------------------------------------------------------- the reporting client
def reporting_url() -> str:
    return service_url("reporting")


def dashboard_url() -> str:
    """The dashboard for people: the web front's page, which signs them in first."""
    return f"{service_url('web')}/dashboard"


def service_url(name: str) -> str:
    url = os.environ.get(f"TMIS_{name.upper()}_URL")
    if url:
        return url.rstrip("/")
    home = os.environ.get("TMIS_HOME")
    state = Path(home).expanduser() if home else Path(__file__).resolve().parents[2] / ".tmis"
    try:
        doc = json.loads((state / "stack.json").read_text(encoding="utf-8"))
        service = doc["services"][name]
        return str(service.get("url") or f"http://127.0.0.1:{service['port']}").rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        raise CliError(f"{name}'s URL is unknown: set TMIS_{name.upper()}_URL or run "
                       "`tmis up`") from None


def token(role: str = "service") -> str:
    """TMIS_TOKEN, else a locally minted, province-wide token (a service account unless asked
    otherwise; dev and test only)."""
    return os.environ.get("TMIS_TOKEN") or local_token(role)


def client() -> httpx.Client:
    return httpx.Client(base_url=reporting_url(), timeout=300, trust_env=False,
                        headers={"Authorization": f"Bearer {token()}"})


def checked(response: httpx.Response) -> httpx.Response:
    """The response, or a CliError that says what the service refused and why."""
    if response.status_code < 400:
        return response
    try:
        body: Any = response.json()
    except ValueError:
        raise CliError(f"reporting answered {response.status_code}: {response.text[:300]}") \
            from None
    lines = [f"reporting answered {response.status_code}: {body.get('message', '')}"]
    for p in body.get("problems", [])[:50]:
        where = f"row {p['row']}, " if p.get("row") is not None else ""
        lines.append(f"  {where}{p.get('loc', '')}: {p.get('msg', '')}")
    raise CliError("\n".join(lines))


def request(method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        with client() as c:
            return checked(c.request(method, path, **kwargs))
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach reporting at {reporting_url()}: {exc}") from exc
