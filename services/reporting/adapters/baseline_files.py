"""Read a baseline file (CSV or XLSX) into a header and rows; write a template in either.

CSV is read as UTF-8 (with or without a BOM, as Excel writes it) and, failing that, GB18030,
which Chinese spreadsheets still produce. XLSX is read from its first sheet through
shared/xlsx_input.py (bounded sizes and rows, defusedxml).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from shared.errors import Problem, ValidationProblem
from shared.spreadsheet import append_row, csv_bytes
from shared.xlsx_input import open_workbook, sheet_rows

XLSX_MAGIC = b"PK\x03\x04"


def read_table(data: bytes, filename: str | None = None) -> tuple[list[Any], list[list[Any]]]:
    if data.startswith(XLSX_MAGIC) or (filename or "").lower().endswith(".xlsx"):
        return _read_xlsx(data)
    return _read_csv(data)


def _read_csv(data: bytes) -> tuple[list[Any], list[list[Any]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValidationProblem([Problem("file", "cannot decode the CSV (UTF-8 or GB18030)")])
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationProblem([Problem("file", "the file is empty")])
    return rows[0], [list(r) for r in rows[1:]]


def _read_xlsx(data: bytes) -> tuple[list[Any], list[list[Any]]]:
    wb = open_workbook(data)  # bounded: decompressed size, ratio, rows, columns; defusedxml
    try:
        rows = list(sheet_rows(wb))
    finally:
        wb.close()
    if not rows:
        raise ValidationProblem([Problem("file", "the workbook's first sheet is empty")])
    return rows[0], rows[1:]


def write_csv(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> bytes:
    return csv_bytes([header, *rows])


def write_xlsx(header: Sequence[Any], rows: Sequence[Sequence[Any]], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    append_row(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        append_row(ws, r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
