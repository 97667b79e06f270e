"""Cells of the CSV and XLSX files we hand to people: text stays text, and Excel can read them.

A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula, so a
teacher named `=HYPERLINK(...)` would become a link in the county's export (CSV injection). Every
string cell goes through `neutral` (CSV: a leading single quote, as OWASP advises) or
`append_row` (XLSX: stored as a string with Excel's quote prefix, so the name shows unchanged
and stays text even when the cell is edited). Numbers are left alone: -3 is a number, not a
formula. CSV is written as UTF-8 with a byte-order mark, which Excel on a Chinese Windows
desktop needs to tell UTF-8 from GBK; every CSV reader of ours accepts the mark.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA = "text/csv; charset=utf-8"


def neutral(value: Any) -> Any:
    """A string a spreadsheet would run as a formula, prefixed with a quote; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Sequence[Any]], lineterminator: str = "\n") -> bytes:
    """Rows as CSV: UTF-8 with a BOM, string cells neutralised, None as an empty cell."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    for row in rows:
        w.writerow(["" if v is None else neutral(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def append_row(ws: Worksheet, values: Sequence[Any]) -> None:
    """Append a row; strings that look like formulas are stored as text, not as formulas."""
    ws.append(list(values))
    for col in range(1, len(values) + 1):
        cell = ws.cell(ws.max_row, col)
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES):
            cell.data_type = "s"
            cell.quotePrefix = True
