"""The HTTP API for files, under /v1: proof documents and bulk imports (and their template).

Uploads are size-limited (413: shared/bodylimit.py, before the body is read when Content-Length
says so and while it arrives otherwise, and a signed-in caller first; then per file here); proof
documents are typed by content (415 for anything but PDF, JPEG, PNG).
"""

from __future__ import annotations

import asyncio
from typing import IO, Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile

from services.intake.adapters.tabular import open_rows, template_csv, template_xlsx
from services.intake.config import intake_settings
from services.intake.domain.documents import UnsupportedDocument
from services.intake.entrypoints.deps import (
    ERRORS,
    UnsupportedMediaType,
    correlation_id,
    transaction,
    uow_factory,
)
from services.intake.entrypoints.schemas import (
    SCHOOL_CODE_PATTERN,
    SHA256_PATTERN,
    BusinessTime,
    DocumentOut,
    ImportReportOut,
)
from services.intake.service_layer import documents
from services.intake.service_layer.common import business_time
from services.intake.service_layer.imports import import_target, import_teachers
from shared.auth import CurrentPrincipal
from shared.bodylimit import too_large
from shared.errors import Problem, ValidationProblem

router = APIRouter(prefix="/v1", responses=ERRORS)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise too_large(limit, what)
    if not content:
        raise ValidationProblem([Problem("file", "the file is empty (文件为空)")])
    return content


def _check_size(upload: UploadFile, limit: int, what: str) -> IO[bytes]:
    """The upload's spooled file, refused when over the limit (without reading it twice)."""
    f = upload.file
    size = f.seek(0, 2)
    f.seek(0)
    if size > limit:
        raise too_large(limit, what)
    if size == 0:
        raise ValidationProblem([Problem("file", "the file is empty (文件为空)")])
    return f


@router.post("/documents", status_code=201, response_model=DocumentOut, tags=["documents"],
             responses={413: {"description": "larger than the limit (5 MiB)"},
                        415: {"description": "not a PDF, JPEG or PNG by content"}},
             summary="Upload a proof document (PDF, JPEG, PNG), stored by its sha256")
async def upload_document(request: Request, who: CurrentPrincipal,
                          file: Annotated[UploadFile, File()]) -> DocumentOut:
    limit = intake_settings().max_document_bytes
    content = await _read_limited(file, limit, "proof document")
    name = "".join(ch for ch in (file.filename or "") if ch.isprintable())[:200] or None
    try:
        doc = await transaction(request, lambda repo: documents.upload_document(
            repo, who, content, name))
    except UnsupportedDocument as exc:
        raise UnsupportedMediaType(str(exc)) from None
    return DocumentOut.of(doc)


@router.get("/documents/{sha256}", tags=["documents"],
            responses={200: {"content": {"application/pdf": {}, "image/jpeg": {},
                                         "image/png": {}}}},
            summary="A proof document, for reviewers of a school that used it")
async def get_document(sha256: Annotated[str, Path(pattern=SHA256_PATTERN)], request: Request,
                       who: CurrentPrincipal) -> Response:
    doc, content = await transaction(
        request, lambda repo: documents.read_document(repo, who, sha256))
    return Response(content, media_type=doc.media_type,
                    headers={"Cache-Control": "private, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})


@router.post("/imports", response_model=ImportReportOut, tags=["imports"],
             responses={413: {"description": "larger than the limit"}},
             summary="Import one school's teachers from a CSV or XLSX file (the template's "
                     "columns); answers with a per-row report")
async def import_file(request: Request, who: CurrentPrincipal,
                      file: Annotated[UploadFile, File()],
                      school_code: Annotated[str, Form(pattern=SCHOOL_CODE_PATTERN)],
                      occurred_at: Annotated[BusinessTime | None, Form()] = None
                      ) -> ImportReportOut:
    settings = intake_settings()
    await transaction(request, lambda repo: import_target(repo, who, school_code))
    business_time(who, occurred_at)  # refused before the file is read, not after
    f = _check_size(file, settings.max_import_bytes, "import file")
    rows = await asyncio.to_thread(open_rows, f)
    report = await import_teachers(uow_factory(request), who, school_code, rows,
                                   batch_size=settings.import_batch_size,
                                   writers=settings.import_writers,
                                   correlation_id=correlation_id(request),
                                   occurred_at=occurred_at)
    return ImportReportOut.model_validate(report.as_dict())


@router.get("/imports/template", tags=["imports"],
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
            summary="The import template: Chinese headers and one example row")
async def import_template(who: CurrentPrincipal,
                          format: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx"
                          ) -> Response:
    if format == "csv":
        return Response(template_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=teachers.csv"})
    content = await asyncio.to_thread(template_xlsx)
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": "attachment; filename=teachers.xlsx"})
