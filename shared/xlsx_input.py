"""Reading XLSX workbooks that people upload, with bounds (writing them: shared/spreadsheet.py).

An XLSX is a ZIP archive of XML files, so a few hundred KiB can decompress to gigabytes (a
"zip bomb"), and XML itself can expand entities without end ("billion laughs"). Before openpyxl
parses anything, `open_workbook` reads the ZIP directory and refuses a workbook whose members add
up to more than `max_bytes` uncompressed, or one member that grows more than `max_ratio` times
(members under 1 MiB may compress as well as they like). zipfile never inflates a member beyond
the size its directory entry declares, so the check bounds what is read. openpyxl parses with
defusedxml (a dependency: openpyxl uses it whenever it is installed), which refuses entity
declarations. `sheet_rows` yields at most `max_rows` rows of at most `max_columns` cells and
refuses a sheet with more, so a crafted `<dimension>` or a lone row 1048576 cannot make the reader
pad millions of cells. Every refusal is a ValidationProblem on the `file` field (422).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import openpyxl
from openpyxl.workbook.workbook import Workbook

from shared.errors import Problem, ValidationProblem

MiB = 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 128 * MiB
MAX_MEMBER_RATIO = 100
RATIO_FREE_BYTES = 1 * MiB
MAX_ROWS = 100_000
MAX_COLUMNS = 256


def refused(message: str) -> ValidationProblem:
    return ValidationProblem([Problem("file", message)])


def check_archive(f: IO[bytes], *, max_bytes: int = MAX_UNCOMPRESSED_BYTES,
                  max_ratio: int = MAX_MEMBER_RATIO) -> None:
    """Refuse a ZIP whose directory declares too much uncompressed content (nothing inflated)."""
    try:
        with zipfile.ZipFile(f) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refused(f"the XLSX workbook cannot be opened: {exc} (Excel 文件无法打开)") from None
    finally:
        f.seek(0)
    total = sum(m.file_size for m in members)
    if total > max_bytes:
        raise refused(f"the XLSX workbook decompresses to {total} bytes, more than the limit of "
                      f"{max_bytes} bytes (Excel 文件解压后超过大小限制，请拆分后上传)")
    for m in members:
        ratio = m.file_size // max(m.compress_size, 1)
        if m.file_size > RATIO_FREE_BYTES and ratio > max_ratio:
            raise refused(f"the XLSX member {m.filename} decompresses to {ratio} times its size, "
                          f"more than {max_ratio} (Excel 文件压缩比异常，拒绝读取)")


def open_workbook(data: IO[bytes] | bytes, *, max_bytes: int = MAX_UNCOMPRESSED_BYTES,
                  max_ratio: int = MAX_MEMBER_RATIO) -> Workbook:
    """The workbook (read-only, values not formulas), after `check_archive`."""
    f: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes) else data
    check_archive(f, max_bytes=max_bytes, max_ratio=max_ratio)
    try:
        return openpyxl.load_workbook(f, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and defusedxml raise many kinds for a broken file
        raise refused(f"the XLSX workbook cannot be opened: {exc} (Excel 文件无法打开)") from None


def sheet_rows(book: Workbook, *, max_rows: int = MAX_ROWS,
               max_columns: int = MAX_COLUMNS) -> Iterator[list[Any]]:
    """The first sheet's rows as lists of values (as wide as the sheet's declared dimension, at
    most `max_columns`); refused past `max_rows` rows."""
    sheet = book.worksheets[0]
    declared = sheet.max_column  # from <dimension>, None when the sheet declares none
    width = min(declared, max_columns) if declared else max_columns
    # no max_row: openpyxl would pad a shorter sheet with empty rows up to it
    rows = sheet.iter_rows(max_col=width, values_only=True)
    try:
        for count, row in enumerate(rows, start=1):
            if count > max_rows:
                raise refused(f"the sheet has more than {max_rows} rows "
                              f"(工作表超过 {max_rows} 行，请拆分后上传)")
            yield list(row) if declared else _trimmed(list(row))
    except ValidationProblem:
        raise
    except Exception as exc:  # a broken sheet XML, or defusedxml refusing entities
        raise refused(f"the XLSX sheet cannot be read: {exc} (Excel 文件无法读取)") from None


def _trimmed(cells: list[Any]) -> list[Any]:
    """A row without the empty cells padded after its last value (as openpyxl reads a sheet
    that declares no dimension)."""
    end = len(cells)
    while end and cells[end - 1] is None:
        end -= 1
    return cells[:end]
