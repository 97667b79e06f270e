"""Handlers for proof documents: upload (content-addressed) and read (for reviewers).

Any account that may write uploads; the document means nothing until a transfer or a return to
post references it. Reading is for reviewers: county and city administrators of a school that
used the document, the province and service accounts.
"""

from __future__ import annotations

from services.intake.domain.documents import Document, describe
from services.intake.service_layer.ports import Registry
from shared.auth import Principal, Region, Role
from shared.errors import Forbidden, NotFound

REVIEWER_ROLES = (Role.COUNTY_ADMIN, Role.CITY_ADMIN)


async def upload_document(repo: Registry, who: Principal, content: bytes,
                          filename: str | None) -> Document:
    if not who.can_write:
        raise Forbidden(f"{who.role} accounts are read-only")
    doc = describe(content, filename)  # raises UnsupportedDocument: not PDF, JPEG or PNG
    known = await repo.document(doc.sha256)
    if known is not None:
        return known
    await repo.save_document(doc, content, who.subject)
    return doc


async def read_document(repo: Registry, who: Principal, sha256: str) -> tuple[Document, bytes]:
    doc = await repo.document(sha256)
    if doc is None:
        raise NotFound(f"no document {sha256}")
    # read-only accounts (query, system administrators) are not reviewers, province-wide
    # or not
    if not who.province_wide or not who.can_write:
        if who.role not in REVIEWER_ROLES:
            raise Forbidden(f"{who.role} accounts do not read proof documents; reviewers do")
        used_at = [await repo.school(code) for code in await repo.document_schools(sha256)]
        if not any(s is not None and who.covers(Region(s.code, s.profile.county_code,
                                                       s.profile.city_code)) for s in used_at):
            raise Forbidden(f"{who.role} may not read document {sha256}: no school of its "
                            "region used it")
    content = await repo.document_content(sha256)
    assert content is not None
    return doc, content
