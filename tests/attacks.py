"""Input that attacks a service: a zip bomb, sheets of hand-written XML (the tests of
shared/xlsx_input.py and of the upload routes build them), and a body that counts what was
taken of it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterable, Iterator

from services.intake.adapters.tabular import template_xlsx

SHEET = "xl/worksheets/sheet1.xml"
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def with_sheet(workbook: bytes, sheet_xml_chunks: Iterable[bytes]) -> bytes:
    """The workbook with its first sheet's XML replaced by the given chunks (streamed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == SHEET:
                with dst.open(SHEET, "w", force_zip64=True) as w:
                    for chunk in sheet_xml_chunks:
                        w.write(chunk)
            else:
                dst.writestr(info, src.read(info.filename))
    return out.getvalue()


def bomb(megabytes: int) -> bytes:
    """The import template whose sheet XML decompresses to `megabytes` MiB of one repeated row
    (about a thousandth of that on the wire)."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    block = row * (1024 * 1024 // len(row))

    def chunks() -> Iterator[bytes]:
        yield HEAD + b"<sheetData>"
        for _ in range(megabytes):
            yield block
        yield b"</sheetData></worksheet>"

    return with_sheet(template_xlsx(), chunks())


class Counted:
    """A streamed body that counts the bytes the server took of it (`sent`)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk
