"""The teacher information confirmation table (教师信息确认表) of one school, as XLSX and PDF.

Every teacher's core record, with signature lines for the teacher (教师本人签字), the school
administrator (学校管理员签字) and the school head (学校负责人签字), and a date line. The PDF
is shared/confirmation_form.py's (one teacher per page, as schools file them; the teacher's
own copy from intake uses it with the full ID number).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from shared.confirmation_form import FIELDS, SIGNATURES, confirmation_pdf, field_text
from shared.spreadsheet import append_row


def confirmation_xlsx(school: dict[str, Any], teachers: Sequence[dict[str, Any]],
                      today: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "教师信息确认表"
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    header = ["序号", *(label for _, label in FIELDS), *SIGNATURES, "日期"]
    append_row(ws, [f"{school['name']}（{school['school_code']}）教师信息确认表"])
    ws["A1"].font = Font(bold=True, size=14)
    append_row(ws, [f"导出日期：{today.isoformat()}。请教师本人核对信息，确认无误后由教师本人、"
                    "学校管理员、学校负责人签字；确认表由学校存档。"])
    append_row(ws, header)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = box
    for i, t in enumerate(teachers, start=1):
        append_row(ws, [i, *(field_text(t["record"], k) for k, _ in FIELDS), "", "", "", ""])
        ws.row_dimensions[ws.max_row].height = 30
        for cell in ws[ws.max_row]:
            cell.border = box
    append_row(ws, [])
    for label in ("学校管理员签字：", "学校负责人签字：", "日期：    年    月    日"):
        append_row(ws, [label])
    for idx in range(1, len(header) + 1):
        ws.column_dimensions[ws.cell(3, idx).column_letter].width = 14
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["FIELDS", "confirmation_pdf", "confirmation_xlsx"]
