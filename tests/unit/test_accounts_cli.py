"""`tmis account` against a small in-memory stand-in for intake's HTTP API (httpx's
MockTransport): signing in from the environment, passwords from standard input, usernames
resolved to ids, the bootstrap's service token, passwords shown once."""

from __future__ import annotations

import io
import json
from typing import Any
from uuid import uuid4

import httpx
import jwt

from tmis_cli.commands.account import execute
from tmis_cli.main import build_parser


class FakeIntake:
    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any], str]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        auth = request.headers.get("authorization", "")
        self.requests.append((request.method, request.url.path, body, auth))
        path = request.url.path
        if path == "/v1/auth/login":
            ok = body == {"username": "county.sys", "password": "Their-Pa55word"}
            return httpx.Response(200 if ok else 401, json={"token": "signed-in-token"} if ok
                                  else {"error": "unauthenticated", "message": "wrong"})
        if path == "/v1/accounts" and request.method == "POST":
            account = {"account_id": str(uuid4()), "active": True, "role": "school_admin",
                       **{k: v for k, v in body.items() if k != "password"}}
            self.accounts[account["account_id"]] = account
            return httpx.Response(201, json={**account, "password": None if body.get("password")
                                             else "Generated-1234"})
        if path == "/v1/accounts" and request.method == "GET":
            name = request.url.params.get("username")
            return httpx.Response(200, json=[a for a in self.accounts.values()
                                             if name in (None, a["username"])])
        if path.endswith("/disable"):
            account = self.accounts[path.split("/")[3]]
            account["active"] = False
            return httpx.Response(200, json=account)
        if path.endswith("/handover"):
            successor = {"account_id": str(uuid4()), "username": body["username"],
                         "active": True, "role": "school_admin"}
            return httpx.Response(200, json={"predecessor": self.accounts[path.split("/")[3]],
                                             "successor": successor,
                                             "password": "Generated-5678"})
        return httpx.Response(404, json={"message": "no route"})

    def factory(self, token: str | None, url: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(transport=httpx.MockTransport(self.handler),
                            base_url="http://intake", headers=headers)


ENV = {"TMIS_USERNAME": "county.sys", "TMIS_PASSWORD": "Their-Pa55word"}


def run(fake: FakeIntake, argv: list[str], stdin: str = "",
        env: dict[str, str] | None = None) -> str:
    args = build_parser().parse_args(["account", *argv])
    out = io.StringIO()
    code = execute(args.action, args, fake.factory, stdin=io.StringIO(stdin),
                   environ=ENV if env is None else env, out=out)
    assert code == 0
    return out.getvalue()


def test_create_signs_in_from_the_environment_and_reads_the_password_from_stdin() -> None:
    fake = FakeIntake()
    printed = run(fake, ["create", "--kind", "info", "--level", "school", "--code", "S1",
                         "--username", "li.s1", "--password-stdin"], stdin="Chosen-Pa55word\n")
    login, create = fake.requests
    assert login[1] == "/v1/auth/login"
    assert create[2]["password"] == "Chosen-Pa55word"
    assert create[3] == "Bearer signed-in-token"
    assert "li.s1" in printed and "Chosen-Pa55word" not in printed


def test_a_generated_password_is_printed_once() -> None:
    fake = FakeIntake()
    printed = run(fake, ["create", "--kind", "query", "--level", "school", "--code", "S1",
                         "--username", "q.s1"])
    assert printed.count("Generated-1234") == 1


def test_disable_takes_a_username_and_resolves_it_to_the_account_id() -> None:
    fake = FakeIntake()
    run(fake, ["create", "--kind", "info", "--level", "school", "--code", "S1",
               "--username", "li.s1"])
    [account_id] = fake.accounts
    printed = run(fake, ["disable", "li.s1"])
    assert fake.requests[-1][1] == f"/v1/accounts/{account_id}/disable"
    assert "disabled" in printed


def test_handover_to_a_new_username_shows_the_successors_password() -> None:
    fake = FakeIntake()
    run(fake, ["create", "--kind", "info", "--level", "school", "--code", "S1",
               "--username", "old.s1"])
    printed = run(fake, ["handover", "old.s1", "--to-username", "new.s1"])
    assert fake.requests[-1][2]["username"] == "new.s1"
    assert "new.s1" in printed and "Generated-5678" in printed


def test_the_bootstrap_uses_a_service_token_and_does_not_sign_in() -> None:
    fake = FakeIntake()
    run(fake, ["create", "--bootstrap", "--kind", "system", "--level", "province",
               "--username", "root.admin"], env={})
    [(method, path, _, auth)] = fake.requests
    claims = jwt.decode(auth.split()[1], options={"verify_signature": False})
    assert (method, path, claims["role"]) == ("POST", "/v1/accounts", "service")
