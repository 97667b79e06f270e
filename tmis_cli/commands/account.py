"""``tmis account``: manage accounts through intake's API, without a browser.

    tmis account create --kind system|info|query --level province|city|county|school
                        [--code CODE] --username U [--display-name NAME] [--password-stdin]
                        [--bootstrap]
    tmis account list [--level L --code C] [--kind K] [--all]
    tmis account disable ID|USERNAME
    tmis account enable ID|USERNAME
    tmis account reset-password ID|USERNAME [--password-stdin]
    tmis account handover ID|USERNAME (--to-username U [--display-name N] [--password-stdin]
                                       | --to-account ID)
    tmis account audit [--level L --code C] [--limit N]

Who acts: TMIS_TOKEN if set; else the command signs in (POST /v1/auth/login) as
TMIS_USERNAME / TMIS_PASSWORD, prompting for what is missing (the password without echo).
`--bootstrap` creates the province's first system administrator while no account exists, with a
service token minted from TMIS_JWT_SECRET (it works in production too: holding the signing key
is the proof). Passwords: `--password-stdin` reads one line from standard input; without it
intake generates one and this command prints it once. Intake's URL: --url, TMIS_INTAKE_URL or
the local stack's record.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO
from urllib.parse import urlparse
from uuid import UUID

import httpx

from shared.auth import Role, mint_token
from shared.settings import load_settings
from tmis_cli import CliError
from tmis_cli.commands.intake import intake_url

KINDS = ("system", "info", "query")
LEVELS = ("province", "city", "county", "school")


def register(subparsers: Any) -> None:
    account = subparsers.add_parser("account", help="create, disable, hand over and list "
                                                    "accounts (system administrators)")
    account.add_argument("--url", help="intake base URL (default TMIS_INTAKE_URL or stack.json)")
    account.add_argument("--json", action="store_true", help="print JSON")
    sub = account.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="create an account (own unit or the level below)")
    create.add_argument("--kind", required=True, choices=KINDS)
    create.add_argument("--level", required=True, choices=LEVELS)
    create.add_argument("--code", help="school, county or city code (not for the province)")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name", default=None)
    create.add_argument("--password-stdin", action="store_true",
                        help="read the new password from standard input (else generated)")
    create.add_argument("--bootstrap", action="store_true",
                        help="the first province system administrator, while none exists")
    create.set_defaults(func=_run("create"))

    lst = sub.add_parser("list", help="accounts of your region, or of a unit inside it")
    lst.add_argument("--level", choices=LEVELS)
    lst.add_argument("--code")
    lst.add_argument("--kind", choices=(*KINDS, "teacher"))
    lst.add_argument("--all", action="store_true", help="disabled accounts too")
    lst.set_defaults(func=_run("list"))

    for name, text in (("disable", "disable an account (refused from its next request on)"),
                       ("enable", "enable a disabled account"),
                       ("reset-password", "set a new password (generated unless given)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("account", help="account id or username")
        if name == "reset-password":
            p.add_argument("--password-stdin", action="store_true")
        p.set_defaults(func=_run(name))

    hand = sub.add_parser("handover", help="交接: give an account's role to a successor")
    hand.add_argument("account", help="the predecessor: account id or username")
    to = hand.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-username", help="a new account for the successor")
    to.add_argument("--to-account", help="an existing account (id or username) of the same unit")
    hand.add_argument("--display-name", default=None)
    hand.add_argument("--password-stdin", action="store_true")
    hand.set_defaults(func=_run("handover"))

    audit = sub.add_parser("audit", help="account events of your region: who, what, when")
    audit.add_argument("--level", choices=LEVELS)
    audit.add_argument("--code")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=_run("audit"))


def _run(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return execute(action, args, http_client)
    return run


def http_client(token: str | None, url: str | None = None) -> httpx.Client:
    base = intake_url(url)
    loopback = urlparse(base).hostname in ("127.0.0.1", "localhost", "::1")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, timeout=60, trust_env=not loopback, headers=headers)


class Session:
    """Calls intake with a token, signing in first when needed."""

    def __init__(self, args: argparse.Namespace,
                 factory: Callable[[str | None, str | None], httpx.Client],
                 environ: Mapping[str, str]) -> None:
        self.args = args
        self.factory = factory
        self.environ = environ
        self.token: str | None = environ.get("TMIS_TOKEN") or None

    def sign_in(self) -> str:
        if self.token:
            return self.token
        username = self.environ.get("TMIS_USERNAME") or input("username: ").strip()
        password = self.environ.get("TMIS_PASSWORD") or getpass.getpass("password: ")
        body = self.call("POST", "/v1/auth/login", token=None,
                         json={"username": username, "password": password})
        self.token = str(body["token"])
        return self.token

    def call(self, method: str, path: str, *, token: str | None, **kwargs: Any) -> Any:
        try:
            with self.factory(token, self.args.url) as client:
                r = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"intake did not answer: {exc}") from exc
        try:
            body = r.json()
        except ValueError:
            body = {"message": r.text[:300]}
        if r.status_code >= 400:
            message = body.get("message", "") if isinstance(body, dict) else str(body)
            problems = body.get("problems") if isinstance(body, dict) else None
            extra = "".join(f"\n  {p.get('loc')}: {p.get('msg')}" for p in problems or [])
            raise CliError(f"intake answered {r.status_code}: {message}{extra}")
        return body

    def authed(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, token=self.sign_in(), **kwargs)

    def account_id(self, ref: str) -> str:
        """An account id as given, or the id of the account with that username."""
        try:
            return str(UUID(ref))
        except ValueError:
            pass
        found = self.authed("GET", "/v1/accounts", params={"username": ref})
        if not found:
            found = self.authed("GET", "/v1/accounts", params={"username": ref,
                                                               "kind": "teacher"})
        if not found:
            raise CliError(f"no account named {ref} in your region")
        return str(found[0]["account_id"])


def _password_from_stdin(wanted: bool, stdin: TextIO) -> str | None:
    if not wanted:
        return None
    line = stdin.readline().rstrip("\n")
    if not line:
        raise CliError("--password-stdin: no password on standard input")
    return line


def execute(action: str, args: argparse.Namespace,
            factory: Callable[[str | None, str | None], httpx.Client], *,
            stdin: TextIO | None = None, environ: Mapping[str, str] | None = None,
            out: TextIO | None = None) -> int:
    """Run one action; `stdin`, `environ` and `out` default to the process's."""
    stdin = stdin or sys.stdin
    s = Session(args, factory, os.environ if environ is None else environ)
    answer: Any
    if action == "create":
        body: dict[str, Any] = {"kind": args.kind, "level": args.level, "code": args.code,
                                "username": args.username, "display_name": args.display_name,
                                "password": _password_from_stdin(args.password_stdin, stdin)}
        if args.bootstrap:
            token = mint_token(load_settings(), Role.SERVICE, subject="tmis-cli:bootstrap",
                               ttl_seconds=300)
            answer = s.call("POST", "/v1/accounts", token=token, json=body)
        else:
            answer = s.authed("POST", "/v1/accounts", json=body)
    elif action == "list":
        params = {k: v for k, v in (("level", args.level), ("code", args.code),
                                    ("kind", args.kind)) if v}
        if not args.all:
            params["active"] = "true"
        answer = s.authed("GET", "/v1/accounts", params=params)
    elif action in ("disable", "enable"):
        answer = s.authed("POST", f"/v1/accounts/{s.account_id(args.account)}/{action}")
    elif action == "reset-password":
        pw = _password_from_stdin(args.password_stdin, stdin)
        answer = s.authed("POST", f"/v1/accounts/{s.account_id(args.account)}/reset-password",
                         json={"password": pw})
    elif action == "handover":
        predecessor = s.account_id(args.account)
        hand: dict[str, Any] = {"display_name": args.display_name}
        if args.to_account:
            hand["successor_account_id"] = s.account_id(args.to_account)
        else:
            hand["username"] = args.to_username
            hand["password"] = _password_from_stdin(args.password_stdin, stdin)
        answer = s.authed("POST", f"/v1/accounts/{predecessor}/handover", json=hand)
    elif action == "audit":
        params = {k: v for k, v in (("level", args.level), ("code", args.code)) if v}
        answer = s.authed("GET", "/v1/accounts/audit", params={**params, "limit": args.limit})
    else:  # pragma: no cover - argparse only offers the actions above
        raise CliError(f"unknown action {action}")
    _print(action, answer, args.json, out or sys.stdout)
    return 0


def _line(a: dict[str, Any]) -> str:
    where = a.get("school_code") or a.get("county_code") or a.get("city_code") or "province"
    state = "active" if a.get("active") else "disabled"
    return (f"{a.get('account_id')}  {a.get('username') or a.get('teacher_id')}  "
            f"{a.get('role')}  {a.get('level')} {where}  {state}  {a.get('display_name') or ''}")


def _print(action: str, answer: Any, as_json: bool, out: TextIO) -> None:
    def say(text: str) -> None:
        print(text, file=out)

    if as_json:
        say(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    if action == "list":
        for a in answer:
            say(_line(a))
        say(f"({len(answer)} accounts)")
    elif action == "audit":
        for r in answer:
            say(f"{r['recorded_at']}  {r['actor']}  {r['event_type']}  "
                f"{r.get('username') or r['account_id']}  ({r['role']})")
    elif action == "handover":
        say(f"handed over: {_line(answer['predecessor'])}")
        say(f"         to: {_line(answer['successor'])}")
        if answer.get("password"):
            say(f"password of the new account (shown once): {answer['password']}")
    else:
        say(_line(answer))
        if answer.get("password"):
            say(f"password (shown once, write it down): {answer['password']}")
