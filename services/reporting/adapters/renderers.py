"""Render a Report as JSON, CSV, XLSX or a terminal table. Renderers lay out; they never count.

CSV of the stage table is exactly the notice's columns (so it can be diffed with it); other
reports write each table as a block headed by `# <title>`. XLSX has one sheet per table plus a
sheet of flags. The terminal table aligns Chinese (double-width) text.
"""

from __future__ import annotations

import io
import json
import unicodedata
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from services.reporting.domain.stages import csv_rows
from services.reporting.domain.tables import Column, Report, Table
from shared.spreadsheet import CSV_MEDIA, append_row, csv_bytes

FORMATS = ("json", "csv", "xlsx", "table")


def cell_text(value: Any, column: Column | None = None) -> str:
    if value is None:
        return ""
    if column is not None and column.kind == "rate" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def to_json(report: Report) -> bytes:
    return json.dumps(report.as_dict(), ensure_ascii=False, default=str).encode()


HEADERS = ("key", "title")  # a CSV's header row: English keys (programs) or Chinese titles


def to_csv(report: Report, header: str = "key") -> bytes:
    """The report's tables as CSV. `header="title"` writes each column's Chinese title in the
    header row instead of its key (what Excel users want; the keys stay the default, as
    programs read them); the rows are the same."""
    if report.name == "stages":
        rows = csv_rows(report.table("stages"))
        if header == "title":
            rows[0] = _titles(report.table("stages"), rows[0])
        return csv_bytes(rows)
    out: list[list[Any]] = []
    for i, table in enumerate(report.tables):
        if len(report.tables) > 1:
            if i:
                out.append([])
            out.append([f"# {table.title}"])
        keys = table.column_keys()
        out.append(_titles(table, keys) if header == "title" else keys)
        out += [[_plain(row.get(k)) for k in keys] for row in table.rows]
    return csv_bytes(out)


def _titles(table: Table, keys: list[str]) -> list[str]:
    labels = {c.key: c.label for c in table.columns}
    return [labels.get(k, k) for k in keys]


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def to_xlsx(report: Report) -> bytes:
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    bold = Font(bold=True)
    warn = PatternFill("solid", fgColor="FFF2CC")
    for table in report.tables:
        ws = wb.create_sheet(_sheet_name(table))
        append_row(ws, [f"{table.title}（截至 {report.as_of}）"])
        ws["A1"].font = Font(bold=True, size=13)
        append_row(ws, [c.label for c in table.columns])
        for cell in ws[2]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True)
        for row in table.rows:
            append_row(ws, [_xlsx_value(row.get(c.key), c) for c in table.columns])
        for idx, col in enumerate(table.columns, start=1):
            if col.kind == "rate":
                for r in range(3, ws.max_row + 1):
                    ws.cell(r, idx).number_format = "0.0%"
        if table.note:
            append_row(ws, [])
            append_row(ws, [table.note])
    flags = report.all_flags()
    if flags:
        ws = wb.create_sheet("提示")
        append_row(ws, ["类别", "说明"])
        for cell in ws[1]:
            cell.font = bold
        for f in flags:
            append_row(ws, [f.code, f.message])
            for cell in ws[ws.max_row]:
                cell.fill = warn
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_name(table: Table) -> str:
    bad = '[]:*?/\\'
    name = "".join(ch for ch in table.title if ch not in bad)
    return name[:31] or table.name[:31]


def _xlsx_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | str):
        return value
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def to_text(report: Report) -> str:
    out = [f"{report.title}（截至 {report.as_of}）"]
    for para in report.summary.get("notice_text", []):
        out.append(para)
    for table in report.tables:
        out.append("")
        out.append(f"== {table.title} ==")
        cols = [c for c in table.columns if c.key != "stage"] if report.name == "stages" \
            else list(table.columns)
        cells = [[c.label for c in cols]]
        for row in table.rows:
            cells.append([cell_text(row.get(c.key), c) or "—" for c in cols])
        widths = [max(_width(r[i]) for r in cells) for i in range(len(cols))]
        for n, r in enumerate(cells):
            out.append("  ".join(_pad(v, widths[i], cols[i].kind != "text" and n > 0)
                                 for i, v in enumerate(r)))
        if table.note:
            out.append(f"注：{table.note}")
    flags = report.all_flags()
    if flags:
        out.append("")
        out.append("提示：")
        out += [f"  - {f.message}" for f in flags]
    return "\n".join(out) + "\n"


def render(report: Report, fmt: str, header: str = "key") -> tuple[bytes, str]:
    """The bytes and media type of a report in a format (`header`: a CSV's header row)."""
    if fmt == "json":
        return to_json(report), "application/json"
    if fmt == "csv":
        return to_csv(report, header), CSV_MEDIA
    if fmt == "xlsx":
        return to_xlsx(report), \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if fmt == "table":
        return to_text(report).encode(), "text/plain; charset=utf-8"
    raise ValueError(fmt)
