"""Intake's HTTP API as the pages use it: sign-in, teachers, proof documents, imports, and a
teacher's own record."""

from __future__ import annotations

from typing import Any

from services.web.adapters.http import Backend


class Download:
    """A file a backend answered with, passed on to the browser as it came."""

    def __init__(self, content: bytes, media_type: str, disposition: str | None) -> None:
        self.content = content
        self.media_type = media_type
        self.disposition = disposition


def download_of(response: Any) -> Download:
    return Download(response.content,
                    response.headers.get("content-type", "application/octet-stream"),
                    response.headers.get("content-disposition"))


def forwarded(client_address: str | None) -> dict[str, str]:
    """Intake throttles sign-in per name at the client's address: the browser's, not this
    front's (intake's uvicorn reads X-Forwarded-For from trusted proxies, FORWARDED_ALLOW_IPS)."""
    return {"X-Forwarded-For": client_address} if client_address else {}


class IntakeClient:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def login(self, username: str, password: str,
                    client_address: str | None = None) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/auth/login", headers=forwarded(client_address),
                                       json={"username": username, "password": password})

    async def teacher_login(self, id_number: str, credential: str,
                            client_address: str | None = None) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/auth/teacher",
                                       headers=forwarded(client_address),
                                       json={"id_number": id_number, "credential": credential})

    async def list_teachers(self, token: str, school_code: str, limit: int = 1000,
                            offset: int = 0) -> list[dict[str, Any]]:
        return await self.backend.json("GET", "/v1/teachers", token,
                                       params={"school_code": school_code, "limit": limit,
                                               "offset": offset})

    async def search_teachers(self, token: str, q: str | None = None, *,
                              school_code: str | None = None, include_left: bool = False,
                              limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset,
                                  "include_left": str(include_left).lower()}
        if q:
            params["q"] = q
        if school_code:
            params["school_code"] = school_code
        return await self.backend.json("GET", "/v1/teachers/search", token, params=params)

    async def get_teacher(self, token: str, teacher_id: str) -> dict[str, Any]:
        return await self.backend.json("GET", f"/v1/teachers/{teacher_id}", token)

    async def register_teacher(self, token: str, school_code: str,
                               record: dict[str, Any]) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/teachers", token,
                                       json={"school_code": school_code, "record": record})

    async def update_teacher(self, token: str, teacher_id: str, expected_version: int,
                             changes: dict[str, Any]) -> dict[str, Any]:
        return await self.backend.json("PATCH", f"/v1/teachers/{teacher_id}", token,
                                       json={"expected_version": expected_version,
                                             "record": changes})

    async def upload_document(self, token: str, filename: str, content: bytes,
                              media_type: str) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/documents", token,
                                       files={"file": (filename, content, media_type)})

    async def document(self, token: str, sha256: str) -> Download:
        return download_of(await self.backend.call("GET", f"/v1/documents/{sha256}", token))

    async def transfer(self, token: str, teacher_id: str, to_school_code: str,
                       proof_sha256: str) -> dict[str, Any]:
        return await self.backend.json("POST", f"/v1/teachers/{teacher_id}/transfer", token,
                                       json={"to_school_code": to_school_code,
                                             "proof_sha256": proof_sha256})

    async def return_to_post(self, token: str, teacher_id: str, school_code: str,
                             proof_sha256: str) -> dict[str, Any]:
        return await self.backend.json("POST", f"/v1/teachers/{teacher_id}/return-to-post",
                                       token, json={"school_code": school_code,
                                                    "proof_sha256": proof_sha256})

    async def leave(self, token: str, teacher_id: str, reason: str, note: str,
                    proof_sha256: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason, "note": note}
        if proof_sha256:
            body["proof_sha256"] = proof_sha256
        return await self.backend.json("POST", f"/v1/teachers/{teacher_id}/leave", token,
                                       json=body)

    async def import_file(self, token: str, school_code: str, filename: str, content: bytes,
                          media_type: str) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/imports", token, long=True,
                                       data={"school_code": school_code},
                                       files={"file": (filename, content, media_type)})

    async def template(self, token: str, fmt: str) -> Download:
        return download_of(await self.backend.call("GET", "/v1/imports/template", token,
                                                   params={"format": fmt}))

    async def school_flags(self, token: str, school_code: str) -> list[dict[str, Any]]:
        return await self.backend.json("GET", f"/v1/schools/{school_code}/flags", token)

    async def issue_credential(self, token: str, teacher_id: str) -> dict[str, Any]:
        return await self.backend.json("POST", f"/v1/teachers/{teacher_id}/credential", token)

    async def resolve_flag(self, token: str, school_code: str, flag_id: str,
                           note: str) -> dict[str, Any]:
        return await self.backend.json("POST",
                                       f"/v1/schools/{school_code}/flags/{flag_id}/resolve",
                                       token, json={"note": note})

    async def own_record(self, token: str) -> dict[str, Any]:
        return await self.backend.json("GET", "/v1/me/record", token)

    async def own_confirmation_form(self, token: str) -> Download:
        return download_of(await self.backend.call("GET", "/v1/me/confirmation.pdf", token))

    async def confirm(self, token: str, record_version: int) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/me/confirm", token,
                                       json={"record_version": record_version})

    async def flag(self, token: str, field: str, comment: str) -> dict[str, Any]:
        return await self.backend.json("POST", "/v1/me/flags", token,
                                       json={"field": field, "comment": comment})
