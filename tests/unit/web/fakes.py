"""A hand-written fake of the four backends, played through httpx.MockTransport.

It answers the routes the web front calls with the shapes the real services give, keeps what
the pages change (teachers, decisions, imports, applied batches) so a test can assert on it,
and refuses like the real ones: 401 for a bad token, 403 outside the caller's school, 422 with
`problems` for a bad ID number.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import jwt

from shared.auth import mint_token
from shared.domain.idnumber import check_char, synthetic_id_number
from shared.settings import Settings

SETTINGS = Settings(jwt_secret="web-unit-test-secret-web-unit-test-0001")
SCHOOL = "6201020001"
COUNTY = "620102"
URLS = {"intake": "http://intake.test", "review": "http://review.test",
        "orgsync": "http://orgsync.test", "reporting": "http://reporting.test"}


def token(role: str, ttl: int = 3600, school_code: str | None = None,
          county_code: str | None = None) -> str:
    return mint_token(SETTINGS, role, ttl_seconds=ttl, school_code=school_code,
                      county_code=county_code)


def error(status: int, code: str, message: str,
          problems: list[dict[str, Any]] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if problems is not None:
        body["problems"] = problems
    return httpx.Response(status, json=body)


@dataclass
class FakeBackends:
    """The backends' state and every request they were sent."""

    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)
    teachers: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    patches: list[dict[str, Any]] = field(default_factory=list)
    applied: list[bytes] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    down: set[str] = field(default_factory=set)
    notices: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.accounts.setdefault("school1", ("right-password-1", token(
            "school_admin", school_code=SCHOOL)))
        self.accounts.setdefault("county1", ("right-password-2", token(
            "county_admin", county_code=COUNTY)))
        self.accounts.setdefault("prov1", ("right-password-3", token("province_admin")))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def add_teacher(self, name: str, status: str | None = "submitted",
                    reason: str | None = None, school: str = SCHOOL) -> str:
        teacher_id = str(uuid4())
        id_number = make_id_number()
        self.teachers[teacher_id] = {
            "teacher_id": teacher_id, "school_code": school, "version": 1, "in_post": True,
            "has_left": False, "completeness": 0.8, "id_number": id_number,
            "record": {"name": name, "id_number_masked": id_number[:6] + "********" +
                       id_number[-4:], "gender": "female", "birth_date": "1990-01-02",
                       "ethnicity": "汉族", "post_status": "in_post",
                       "is_fulltime_teacher": True, "hire_date": "2012-09-01",
                       "political_status": None, "stage_taught": "primary",
                       "highest_education": None, "professional_title": None,
                       "teacher_qualification": None}}
        if status is not None:
            self.queue[teacher_id] = {
                "teacher_id": teacher_id, "name": name, "school_code": school,
                "school_name": "城关第一小学", "county_code": COUNTY, "city_code": "620100",
                "kind": "new", "status": status, "record_version": 1,
                "submitted_at": "2026-11-20T09:00:00+08:00", "school_approved_at": None,
                "rejected": {"level": "county", "reason": reason} if reason else None,
                "has_proof": False, "hard_failures": 0, "warnings": 1,
                "same_person_elsewhere": False, "changed_fields": 0}
        return teacher_id

    # ------------------------------------------------------------------ routing

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        service = request.url.host.split(".")[0]
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        claims = self._claims(request)
        path, method = request.url.path, request.method
        if path.startswith("/v1/auth/"):
            return self._login(request)
        if claims is None:
            return error(401, "unauthenticated", "invalid token")
        route = getattr(self, f"_{service}")
        answer: httpx.Response = route(method, path, request, claims)
        return answer

    def _claims(self, request: httpx.Request) -> dict[str, Any] | None:
        auth = request.headers.get("authorization", "")
        raw = auth.removeprefix("Bearer ")
        if not raw or raw in self.revoked:
            return None
        try:
            return dict(jwt.decode(raw, SETTINGS.jwt_secret, algorithms=["HS256"]))
        except jwt.PyJWTError:
            return None

    def _login(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        found = self.accounts.get(body.get("username", ""))
        if found is None or found[0] != body.get("password"):
            return error(401, "unauthenticated", "wrong username or password, or the account "
                                                 "is disabled (用户名或密码错误，或账号已停用)")
        return httpx.Response(200, json={"token": found[1], "token_type": "bearer",
                                         "expires_at": "2099-01-01T00:00:00Z", "account": {}})

    # ------------------------------------------------------------------ intake

    def _intake(self, method: str, path: str, request: httpx.Request,
                claims: dict[str, Any]) -> httpx.Response:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/v1/teachers":
            school = request.url.params["school_code"]
            if claims.get("school") not in (None, school):
                return error(403, "forbidden", f"school {school} is outside your region")
            return httpx.Response(200, json=[self._out(t) for t in self.teachers.values()
                                             if t["school_code"] == school])
        if method == "POST" and path == "/v1/teachers":
            return self._register(json.loads(request.content))
        if method == "GET" and path == "/v1/teachers/search":
            return self._search(request.url.params, claims)
        if parts[:2] == ["v1", "teachers"] and len(parts) == 3:
            t = self.teachers.get(parts[2])
            if t is None:
                return error(404, "not_found", "no such teacher")
            if claims.get("school") not in (None, t["school_code"]):
                return error(403, "forbidden", "teacher outside your region")
            if method == "GET":
                return httpx.Response(200, json=self._out(t, full=True))
            body = json.loads(request.content)
            self.patches.append(body)
            if body["expected_version"] != t["version"]:
                return error(409, "stale_version", "stream is at another version")
            t["record"].update(body["record"])
            t["version"] += 1
            return httpx.Response(200, json={"teacher_id": t["teacher_id"], "version":
                                             t["version"], "school_code": t["school_code"],
                                             "completeness": 0.8, "changed_fields": []})
        if method == "POST" and len(parts) == 4 and parts[3] == "credential":
            return httpx.Response(201, json={"teacher_id": parts[2], "account_id": "a1",
                                             "credential": "7kq2-m9xp-4hte-wr8n"})
        if method == "POST" and path == "/v1/documents":
            if b"%PDF" not in request.content:
                return error(415, "unsupported_media_type", "not a PDF, JPEG or PNG")
            return httpx.Response(201, json={"sha256": "b" * 64, "media_type": "application/pdf",
                                             "size_bytes": 10, "filename": "proof.pdf"})
        if method == "POST" and len(parts) == 4 and parts[3] in ("transfer", "return-to-post",
                                                                  "leave"):
            body = json.loads(request.content)
            self.transfers.append({"teacher_id": parts[2], "kind": parts[3], **body})
            return httpx.Response(200, json={"teacher_id": parts[2], "school_code": SCHOOL,
                                             "version": 2, "completeness": 0.8,
                                             "changed_fields": ["school_code"]})
        if method == "GET" and path.startswith("/v1/schools/") and path.endswith("/flags"):
            return httpx.Response(200, json=[f for f in self.flags if f["open"]])
        if method == "POST" and path.startswith("/v1/schools/") and path.endswith("/resolve"):
            for f in self.flags:
                if f["flag_id"] == parts[4]:
                    f.update(open=False, resolution=json.loads(request.content)["note"])
                    return httpx.Response(200, json=f)
            return error(404, "not_found", "no such flag")
        if method == "POST" and path == "/v1/imports":
            return httpx.Response(200, json={
                "school_code": SCHOOL, "rows": 3, "registered": 2, "updated": 0,
                "unchanged": 0, "failed": 1, "skipped": 1, "batches": 1, "seconds": 0.2,
                "problems": [{"row": 4, "field": "id_number", "column": "身份证号",
                              "msg": "invalid ID number: check digit (身份证号无效)"}]})
        if method == "GET" and path == "/v1/imports/template":
            return httpx.Response(200, content=b"name\n", headers={
                "content-type": "text/csv; charset=utf-8",
                "content-disposition": "attachment; filename=teachers.csv"})
        if method == "GET" and path.startswith("/v1/documents/"):
            return httpx.Response(200, content=b"%PDF-1.4 fake",
                                  headers={"content-type": "application/pdf"})
        return error(404, "not_found", f"fake intake has no {method} {path}")

    def _search(self, params: Any, claims: dict[str, Any]) -> httpx.Response:
        """Like intake: an ID number anywhere (no record outside the caller's school), a name
        prefix only inside it; 422 at q for a malformed number."""
        q = params.get("q", "").strip().upper()
        if q[:6].isdigit() and len(q) != 18:
            return error(422, "validation_failed", "invalid input",
                         [{"loc": "q", "msg": "not a valid ID number: must be 18 characters"}])
        mine, wanted = claims.get("school"), params.get("school_code")
        hits = []
        for t in self.teachers.values():
            inside = mine in (None, t["school_code"])
            if wanted not in (None, t["school_code"]):
                continue
            if not (t["id_number"] == q or (inside and t["record"]["name"].startswith(q))):
                continue
            if t["has_left"] and params.get("include_left") != "true" and t["id_number"] != q:
                continue
            hits.append({"teacher_id": t["teacher_id"], "name": t["record"]["name"],
                         "school_code": t["school_code"], "school_name": "某学校",
                         "county_code": COUNTY, "city_code": "620100", "in_post": t["in_post"],
                         "has_left": t["has_left"], "version": t["version"],
                         "in_region": inside, "record": t["record"] if inside else None})
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 50))
        return httpx.Response(200, json=hits[offset:offset + limit])

    def _out(self, t: dict[str, Any], full: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in t.items() if k != "id_number"}
        out["id_number"] = t["id_number"] if full else None
        return out

    def _register(self, body: dict[str, Any]) -> httpx.Response:
        record = body["record"]
        problems = [{"loc": f"body.record.{name}", "msg": "Field required"}
                    for name in ("name", "id_number", "gender", "birth_date", "ethnicity",
                                 "post_status", "is_fulltime_teacher", "hire_date")
                    if name not in record]
        if problems:
            return error(422, "validation_failed", "invalid request", problems)
        number = str(record["id_number"]).upper()
        if len(number) != 18 or not number[:17].isdigit() or check_char(number[:17]) != number[17]:
            return error(422, "validation_failed", "invalid input", [
                {"loc": "id_number", "msg": "invalid ID number: the check digit should be "
                                            "different (身份证号无效)"}])
        teacher_id = self.add_teacher(record["name"])
        return httpx.Response(201, json={"teacher_id": teacher_id, "school_code": SCHOOL,
                                         "version": 1, "completeness": 0.8,
                                         "changed_fields": []})

    # ------------------------------------------------------------------ review

    def _review(self, method: str, path: str, request: httpx.Request,
                claims: dict[str, Any]) -> httpx.Response:
        if method == "GET" and path == "/v1/queue":
            items = sorted(self.queue.values(), key=lambda i: i["submitted_at"])
            status = request.url.params.get("status")
            level = request.url.params.get("level")
            wanted = status or {"school": "submitted", "county": "school_approved"}.get(
                level or "")
            if wanted:
                items = [i for i in items if i["status"] == wanted]
            return httpx.Response(200, json={"items": items, "total": len(items), "limit": 50,
                                             "offset": 0, "rebuilding": False})
        if method == "POST" and path == "/v1/decisions":
            body = json.loads(request.content)
            results = []
            for d in body["decisions"]:
                self.decisions.append(d)
                results.append({"status": 200, "teacher_id": d["teacher_id"],
                                "outcome": d["decision"] + "d"})
            approved = sum(1 for d in body["decisions"] if d["decision"] == "approve")
            return httpx.Response(200, json={"results": results, "approved": approved,
                                             "rejected": len(results) - approved,
                                             "failed": 0})
        if method == "GET" and path == "/v1/quality":
            return self._quality(request.url.params, claims)
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "spot-checks"]:
            return self._spot_check(method, parts, request)
        if parts[:2] == ["v1", "teachers"]:
            item = self.queue.get(parts[2])
            if item is None:
                return error(404, "not_found", "not in review")
            if len(parts) == 4 and parts[3] == "history":
                return httpx.Response(200, json={"teacher_id": parts[2], "decisions": []})
            if len(parts) == 4 and parts[3] == "decisions":
                body = json.loads(request.content)
                self.decisions.append({"teacher_id": parts[2], **body})
                return httpx.Response(200, json={"teacher_id": parts[2], "outcome": "ok"})
            if len(parts) == 4 and parts[3] == "resubmit":
                return self._resubmit(parts[2], item, json.loads(request.content))
            return httpx.Response(200, json={
                **item, "active": True, "awaiting_level": "county", "stream_version": 2,
                "record": self.teachers[parts[2]]["record"], "needs_proof": True,
                "proof": {"sha256": "a" * 64, "media_type": "application/pdf",
                          "size_bytes": 10, "filename": "proof.pdf"},
                "from_school_code": None, "diff_base_version": 1,
                "diff": [{"field": "hire_date", "old": "2011-09-01", "new": "2012-09-01"}],
                "checks": [{"check": "gender_matches_id", "passed": False,
                            "severity": "hard", "message": "gender differs from the ID"}]})
        return error(404, "not_found", f"fake review has no {method} {path}")

    def _quality(self, params: Any, claims: dict[str, Any]) -> httpx.Response:
        if claims.get("school"):
            return error(403, "forbidden", "data quality is read by counties and above")
        row = {"records": len(self.teachers), "failing_checks": 1, "check_failure_rate": 0.5,
               "rejected_now": 0, "awaiting_school": 1, "awaiting_second_level": 1,
               "oldest_waiting_days": 12, "suspected_duplicates": 2, "incomplete": 1,
               "incomplete_rate": 0.5}
        county = params.get("county_code") or claims.get("county")
        if county:
            return httpx.Response(200, json={
                "county_code": county, "counties": [], "decisions": 4, "rejections": 1,
                "rejection_rate": 0.25,
                "schools": [{"county_code": county, "school_code": SCHOOL,
                             "school_name": "城关第一小学", **row}],
                "duplicates": [{"teacher_id": t, "name": "王芳", "birth_date": "1990-01-02",
                                "school_code": SCHOOL, "school_name": "城关第一小学",
                                "other_teacher_id": "x", "other_school_code": "6201020099",
                                "other_school_name": "城关第二小学"} for t in self.teachers]})
        return httpx.Response(200, json={"county_code": None, "counties": [
            {"county_code": COUNTY, **row, "rejection_rate": 0.25}]})

    def _spot_check(self, method: str, parts: list[str],
                    request: httpx.Request) -> httpx.Response:
        """One sample of every teacher in the queue; results as review keeps them."""
        if parts[2:] == []:
            return httpx.Response(200, json={"county_code": COUNTY, "spot_checks": []})
        if parts[2:] == ["error-rates"]:
            done = list(self.results.values())
            errors = sum(1 for r in done if r["outcome"] == "error_found")
            row = {"checked": len(done), "errors": errors,
                   "error_rate": errors / len(done) if done else None}
            return httpx.Response(200, json={"counties": [{"county_code": COUNTY, **row}],
                                             "schools": [{"county_code": COUNTY,
                                                          "school_code": SCHOOL,
                                                          "school_name": "城关第一小学",
                                                          **row}] if done else []})
        if method == "POST" and parts[3:] == ["results"]:
            body = json.loads(request.content)
            if body["outcome"] == "error_found" and not body["fields"]:
                return error(422, "validation_failed", "invalid input",
                             [{"loc": "fields", "msg": "name the fields found wrong"}])
            self.results[body["teacher_id"]] = body
            return httpx.Response(201, json=body)
        if method == "GET" and len(parts) == 3:
            members = [{"teacher_id": t, "name": i["name"], "school_name": "城关第一小学",
                        "status": i["status"], "result": self.results.get(t)}
                       for t, i in self.queue.items()]
            return httpx.Response(200, json={
                "sample_id": parts[2], "county_code": COUNTY, "seed": 1, "verified": True,
                "population_size": len(members), "members": members,
                "checked": len(self.results), "actor": "county1", "drawn_at": None})
        return error(404, "not_found", "fake review has no such spot-check route")

    def _resubmit(self, teacher_id: str, item: dict[str, Any],
                  body: dict[str, Any]) -> httpx.Response:
        """Like review: only a rejected current version, with a note, goes back."""
        if not body.get("note", "").strip():
            return error(422, "validation_failed", "invalid request",
                         [{"loc": "body.note", "msg": "String should have at least 1 character"}])
        if item["status"] != "rejected" or body["record_version"] != item["record_version"]:
            return error(409, "not_awaiting_decision", "not rejected: nothing to resubmit")
        self.decisions.append({"teacher_id": teacher_id, "decision": "resubmit", **body})
        item.update(status="school_approved", rejected=None)
        return httpx.Response(200, json={"teacher_id": teacher_id, "outcome": "resubmitted",
                                         "review_status": "school_approved"})

    # ------------------------------------------------------------------ orgsync, reporting

    def _orgsync(self, method: str, path: str, request: httpx.Request,
                 claims: dict[str, Any]) -> httpx.Response:
        if method == "POST" and path == "/v1/batches/plan":
            return httpx.Response(200, json={
                "batch_id": "2026Q4-01", "effective_date": "2026-12-31", "ok": True,
                "operations": 1, "teachers_to_move": 3, "in_post_to_move": 3,
                "changes": [{"line": 2, "op": "merge", "op_label": "合并",
                             "school_code": "6201020009", "target_code": SCHOOL,
                             "before": {"name": "旧校"}, "after": None,
                             "teachers_moved": 3}],
                "counts": [], "problems": [], "warnings": [], "known_batch": None})
        if method == "POST" and path == "/v1/batches/apply":
            if claims["role"] != "province_admin":
                return error(403, "forbidden", "city_admin 账号不能应用调整批次")
            self.applied.append(request.content)
            return httpx.Response(200, json={
                "outcome": "applied", "batch_id": "2026Q4-01", "effective_date": "2026-12-31",
                "operations": 1, "teachers_to_move": 3, "message": "批次 2026Q4-01 已应用"})
        return error(404, "not_found", f"fake orgsync has no {method} {path}")

    def _reporting(self, method: str, path: str, request: httpx.Request,
                   claims: dict[str, Any]) -> httpx.Response:
        if (method, path) == ("GET", "/v1/progress"):
            return httpx.Response(200, json={"scope": "province", "step_days": 7, "points": [
                {"as_of": "2026-11-18", "entered_schools": 3, "entered_staff": 1000,
                 "review_complete": 0, "staff_rate": None},
                {"as_of": "2026-11-25", "entered_schools": 5, "entered_staff": 1234,
                 "review_complete": 1, "staff_rate": 0.5}]})
        if method == "GET" and path.startswith("/v1/reports/"):
            name = path.rsplit("/", 1)[1]
            return httpx.Response(200, json={
                "name": name, "title": f"报表 {name}", "as_of": "2026-11-25", "cutoff": "",
                "tables": [{"name": name, "title": f"报表 {name}",
                            "columns": [{"key": "label", "label": "学段", "kind": "text"},
                                        {"key": "entered", "label": "录入教职工数",
                                         "kind": "int"},
                                        {"key": "rate", "label": "录入率", "kind": "rate"}],
                            "rows": [{"label": "小学", "entered": 1234, "rate": 0.5}],
                            "flags": [], "note": ""}],
                "summary": {"headline": {"entered_staff": 1234, "review_complete": 1}},
                "flags": [], "sources": {}})
        return self._chasing(method, path, request, claims)

    def _chasing(self, method: str, path: str, request: httpx.Request,
                 claims: dict[str, Any]) -> httpx.Response:
        """One lagging school; reminders kept as reporting keeps them."""
        if (method, path) == ("GET", "/v1/rounds"):
            return httpx.Response(200, json=[])
        if (method, path) == ("GET", "/v1/laggards"):
            return httpx.Response(200, json={"round": None, "level": "school", "units": 2,
                                             "laggards": [{
                "level": "school", "code": SCHOOL, "name": "城关第一小学", "staff_annual": 10,
                "staff_entered": 4, "staff_rate": 0.4, "reviewed": 0, "review_rate": 0.0,
                "reasons": ["教职工录入率 40%，低于目标 100%"],
                "notices_sent": len(self.notices), "last_sent_at": None,
                "last_read_at": None}]})
        if (method, path) == ("POST", "/v1/notices"):
            body = json.loads(request.content)
            if claims.get("school"):
                return error(403, "forbidden", "reminders go to the levels below")
            for code in body["unit_codes"]:
                self.notices.append({"notice_id": f"{len(self.notices) + 1:032x}",
                                     "unit_code": code, "unit_name": "城关第一小学",
                                     "message": body["message"] or "城关第一小学：请尽快完成录入",
                                     "sent_at": "2026-12-04T10:00:00+08:00",
                                     "sent_by": claims["sub"], "read_at": None})
            return httpx.Response(201, json={"sent": len(body["unit_codes"])})
        if (method, path) == ("GET", "/v1/notices"):
            return httpx.Response(200, json=self.notices)
        if (method, path) == ("GET", "/v1/me/notices"):
            return httpx.Response(200, json=[n for n in self.notices if not n["read_at"]
                                             and n["unit_code"] == claims.get("school")])
        parts = path.strip("/").split("/")
        if method == "POST" and parts[:2] == ["v1", "notices"] and parts[3:] == ["read"]:
            for n in self.notices:
                if n["notice_id"] == parts[2] and n["unit_code"] == claims.get("school"):
                    n["read_at"] = "2026-12-04T11:00:00+08:00"
                    return httpx.Response(200, json={"notice_id": parts[2], "read": True})
            return error(403, "forbidden", "only the unit's administrators read it")
        return error(404, "not_found", f"fake reporting has no {method} {path}")



def make_id_number(seed: int | None = None) -> str:
    """A valid, synthetic ID number (a person who does not exist)."""
    rng = random.Random(seed)
    return synthetic_id_number(rng, COUNTY, date(1990, 1, 2), "female")


def wrong_check_digit(id_number: str) -> str:
    """The same number with a check digit GB 11643 refuses."""
    last = id_number[17]
    return id_number[:17] + ("1" if last != "1" else "2")
