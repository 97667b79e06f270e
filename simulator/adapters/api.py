"""Async HTTP clients for the four services' public APIs: the simulator's only way in.

Every call goes through `ServiceClient.call`, which
- presents the simulator's service-account token,
- bounds the number of requests in flight across all four services (one shared semaphore:
  on a 2-core machine the services, PostgreSQL and Kafka share the CPUs with the simulator),
- retries transport errors, 502/503/504 and intake's "a concurrent change got in the way" 409
  with the SAME Idempotency-Key (a POST the service already committed is replayed, not
  repeated), with stamina's exponential backoff and jitter, honouring Retry-After, for up to
  `retry_seconds` (shared/http_retry.py: the policy and why stamina),
- and turns an unexpected answer into `ApiError`, which names the service, the call, the
  school it concerned and the service's own error body.

Errors:

    ApiError        an answer the simulator did not expect (or the service never answered)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import stamina

from shared.http_retry import RETRY_STATUSES, RetryableAnswer, backoff
from simulator.adapters.endpoints import Endpoints

# Long enough to ride out a PostgreSQL restart, a broker killed and restarted, a service
# killed and started again; a service that stays away that long fails the run.
RETRY_SECONDS = 300.0
PAGE = 1000  # intake's largest page
QUEUE_PAGE = 500  # review's largest page


class ApiError(RuntimeError):
    """A call the simulator needed did not give the answer it needed."""

    def __init__(self, service: str, call: str, status: int | None, body: Any,
                 school: str | None = None) -> None:
        self.service = service
        self.call = call
        self.status = status
        self.body = body
        self.school = school
        where = f" (school {school})" if school else ""
        said = "no answer" if status is None else f"HTTP {status}"
        super().__init__(f"{service}: {call}{where} failed: {said}: {_excerpt(body)}")

    @property
    def code(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


def _excerpt(body: Any, limit: int = 800) -> str:
    if isinstance(body, dict | list):
        text = json.dumps(body, ensure_ascii=False)
    else:
        text = str(body)
    return text if len(text) <= limit else text[:limit] + " …"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retryable_conflict(response: httpx.Response) -> bool:
    """Intake answers 409 when PostgreSQL aborted the transaction for a deadlock or a
    serialization failure: sending the same request again is the documented remedy."""
    if response.status_code != 409:
        return False
    body = _body(response)
    return isinstance(body, dict) and body.get("error") == "conflict" and \
        "concurrent change" in str(body.get("message", ""))


def iso(moment: datetime) -> str:
    return moment.isoformat()


class ServiceClient:
    """One service's API, over one pooled httpx client."""

    def __init__(self, name: str, base_url: str, token: str, limit: asyncio.Semaphore, *,
                 timeout: float = 900.0, retry_seconds: float = RETRY_SECONDS,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self.base_url = base_url
        self.limit = limit
        self.retry_seconds = retry_seconds
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout, connect=30.0), trust_env=False,
            headers={"Authorization": f"Bearer {token}"}, transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self.calls = 0
        self.retries = 0

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, *, what: str, school: str | None = None,
                   ok: Sequence[int] = (200, 201), idempotency_key: str | None = None,
                   **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        started = time.monotonic()
        try:
            async for attempt in stamina.retry_context(
                    on=backoff, attempts=None, timeout=self.retry_seconds, wait_initial=0.5,
                    wait_max=15.0):
                with attempt:
                    if attempt.num > 1:
                        self.retries += 1
                    async with self.limit:
                        self.calls += 1
                        response = await self.http.request(method, path, headers=headers,
                                                           **kwargs)
                    if response.status_code in RETRY_STATUSES or _retryable_conflict(response):
                        raise RetryableAnswer(response)
        except RetryableAnswer as exc:
            raise ApiError(self.name, what, exc.response.status_code, _body(exc.response),
                           school) from None
        except httpx.TransportError as exc:
            raise ApiError(self.name, what, None,
                           f"{type(exc).__name__}: {exc} (retried for "
                           f"{time.monotonic() - started:.0f}s)", school) from None
        if response.status_code in ok:
            return response
        raise ApiError(self.name, what, response.status_code, _body(response), school)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(method, path, **kwargs)).json()

    async def healthz(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.json("GET", "/healthz", what="GET /healthz")
        return body


# --------------------------------------------------------------------------- intake


class IntakeClient(ServiceClient):
    async def register_school(self, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", "/v1/schools", json=body, idempotency_key=key,
            what="POST /v1/schools", school=str(body["code"]))
        return answer

    async def school(self, code: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json("GET", f"/v1/schools/{code}",
                                                 what=f"GET /v1/schools/{code}", school=code)
        return answer

    async def any_school(self) -> bool:
        found = await self.json("GET", "/v1/schools", params={"limit": 1},
                                what="GET /v1/schools")
        return bool(found)

    async def import_template(self) -> str:
        response = await self.call("GET", "/v1/imports/template", params={"format": "csv"},
                                   what="GET /v1/imports/template")
        return response.content.decode("utf-8-sig")

    async def import_teachers(self, school_code: str, content: bytes,
                              occurred_at: datetime) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", "/v1/imports", what="POST /v1/imports", school=school_code,
            files={"file": (f"{school_code}.csv", content, "text/csv")},
            data={"school_code": school_code, "occurred_at": iso(occurred_at)})
        return answer

    async def register_teacher(self, school_code: str, record: Mapping[str, Any],
                               occurred_at: datetime, key: str) -> tuple[dict[str, Any], bool]:
        """(the answer, whether intake says it replayed an earlier answer)."""
        response = await self.call(
            "POST", "/v1/teachers", what="POST /v1/teachers", school=school_code,
            idempotency_key=key,
            json={"school_code": school_code, "record": dict(record),
                  "occurred_at": iso(occurred_at)})
        return response.json(), response.headers.get("Idempotent-Replayed") == "true"

    async def teachers_at(self, school_code: str) -> list[dict[str, Any]]:
        """Every current teacher of a school (paged through)."""
        out: list[dict[str, Any]] = []
        while True:
            page = await self.json("GET", "/v1/teachers", what="GET /v1/teachers",
                                   school=school_code,
                                   params={"school_code": school_code, "limit": PAGE,
                                           "offset": len(out)})
            out += page
            if len(page) < PAGE:
                return out

    async def update_teacher(self, school_code: str, teacher_id: str, version: int,
                             changes: Mapping[str, Any], occurred_at: datetime,
                             key: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "PATCH", f"/v1/teachers/{teacher_id}", what="PATCH /v1/teachers/{id}",
            school=school_code, idempotency_key=key,
            json={"expected_version": version, "record": dict(changes),
                  "occurred_at": iso(occurred_at)})
        return answer

    async def upload_document(self, content: bytes, filename: str) -> str:
        body = await self.json("POST", "/v1/documents", what="POST /v1/documents",
                               files={"file": (filename, content, "application/pdf")})
        return str(body["sha256"])

    async def transfer(self, teacher_id: str, to_school: str, proof: str, version: int,
                       occurred_at: datetime, key: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", f"/v1/teachers/{teacher_id}/transfer", school=to_school,
            what="POST /v1/teachers/{id}/transfer", idempotency_key=key,
            json={"to_school_code": to_school, "proof_sha256": proof,
                  "expected_version": version, "occurred_at": iso(occurred_at)})
        return answer

    async def return_to_post(self, teacher_id: str, school_code: str, proof: str, version: int,
                             occurred_at: datetime, key: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", f"/v1/teachers/{teacher_id}/return-to-post", school=school_code,
            what="POST /v1/teachers/{id}/return-to-post", idempotency_key=key,
            json={"school_code": school_code, "proof_sha256": proof,
                  "expected_version": version, "occurred_at": iso(occurred_at)})
        return answer

    async def leave(self, school_code: str, teacher_id: str, reason: str, version: int,
                    occurred_at: datetime, key: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", f"/v1/teachers/{teacher_id}/leave", school=school_code,
            what="POST /v1/teachers/{id}/leave", idempotency_key=key,
            json={"reason": reason, "expected_version": version,
                  "occurred_at": iso(occurred_at)})
        return answer


# --------------------------------------------------------------------------- review


@dataclass(frozen=True)
class Decision:
    teacher_id: str
    record_version: int
    approve: bool
    level: str
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"teacher_id": self.teacher_id,
                               "record_version": self.record_version,
                               "decision": "approve" if self.approve else "reject",
                               "level": self.level}
        if self.reason:
            out["reason"] = self.reason
        return out


class ReviewClient(ServiceClient):
    backdating = True  # False once review refused a batch's occurred_at

    async def queue(self, level: str, county_code: str, offset: int,
                    limit: int = QUEUE_PAGE) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "GET", "/v1/queue", what=f"GET /v1/queue?level={level}&county_code={county_code}",
            params={"level": level, "county_code": county_code, "limit": limit,
                    "offset": offset})
        return answer

    async def queue_all(self, level: str, county_code: str) -> list[dict[str, Any]]:
        """Every item of a county's queue at a level (read before deciding: deciding moves
        items out of the queue and would shift the pages)."""
        items: list[dict[str, Any]] = []
        while True:
            page = await self.queue(level, county_code, len(items))
            items += page["items"]
            if len(page["items"]) < QUEUE_PAGE or len(items) >= int(page["total"]):
                return items

    async def decide(self, decisions: Sequence[Decision],
                     occurred_at: datetime | None) -> dict[str, Any]:
        items = [d.as_json() for d in decisions]
        what = f"POST /v1/decisions ({len(items)} decisions)"
        if occurred_at is not None and self.backdating:
            try:
                answer: dict[str, Any] = await self.json(
                    "POST", "/v1/decisions", what=what,
                    json={"decisions": items, "occurred_at": iso(occurred_at)})
                return answer
            except ApiError as exc:
                # A review service without business time for decisions refuses the object
                # form (422): decide now instead, and say so once (see `backdating`).
                said = str(exc.body)
                if exc.status != 422 or ("occurred_at" not in said and "valid list" not in said):
                    raise
                self.backdating = False
        answer = await self.json("POST", "/v1/decisions", what=what, json=items)
        return answer


# --------------------------------------------------------------------------- orgsync


class OrgsyncClient(ServiceClient):
    async def plan(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json("POST", "/v1/batches/plan", json=dict(batch),
                                                 what="POST /v1/batches/plan")
        return answer

    async def apply(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json("POST", "/v1/batches/apply", json=dict(batch),
                                                 what="POST /v1/batches/apply")
        return answer

    async def announce(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", "/v1/batches/announce", json=dict(batch), what="POST /v1/batches/announce")
        return answer

    async def registry(self, schools: Sequence[str] = ()) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "GET", "/v1/registry", params=[("school", s) for s in schools],
            what="GET /v1/registry")
        return answer


# --------------------------------------------------------------------------- reporting


class ReportingClient(ServiceClient):
    async def import_baseline(self, content: bytes, filename: str, kind: str, year: int,
                              level: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.json(
            "POST", "/v1/baselines", what=f"POST /v1/baselines ({kind}, {level})",
            files={"file": (filename, content, "text/csv")},
            data={"kind": kind, "year": str(year), "level": level})
        return answer

    async def report(self, name: str, *, as_of: str | None = None, fmt: str = "json",
                     exclude: Sequence[str] = ()) -> httpx.Response:
        params: list[tuple[str, str]] = [("format", fmt)]
        if as_of:
            params.append(("as_of", as_of))
        params += [("exclude", e) for e in exclude]
        return await self.call("GET", f"/v1/reports/{name}", params=params,
                               what=f"GET /v1/reports/{name}?as_of={as_of or 'now'}")


# --------------------------------------------------------------------------- all four


@dataclass
class Services:
    intake: IntakeClient
    review: ReviewClient
    orgsync: OrgsyncClient
    reporting: ReportingClient

    @classmethod
    def connect(cls, endpoints: Endpoints, token: str, concurrency: int,
                transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> Services:
        limit = asyncio.Semaphore(concurrency)

        def kw(name: str) -> dict[str, Any]:
            return {"transport": (transports or {}).get(name)}

        return cls(IntakeClient("intake", endpoints.url("intake"), token, limit, **kw("intake")),
                   ReviewClient("review", endpoints.url("review"), token, limit, **kw("review")),
                   OrgsyncClient("orgsync", endpoints.url("orgsync"), token, limit,
                                 **kw("orgsync")),
                   ReportingClient("reporting", endpoints.url("reporting"), token, limit,
                                   **kw("reporting")))

    def all(self) -> tuple[ServiceClient, ...]:
        return (self.intake, self.review, self.orgsync, self.reporting)

    async def close(self) -> None:
        for client in self.all():
            await client.close()

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.all())

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.all())
