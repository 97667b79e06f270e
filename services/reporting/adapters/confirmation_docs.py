"""The teacher information confirmation table (教师信息确认表) of one school, as XLSX and PDF.

Every teacher's core record, with signature lines for the teacher (教师本人签字), the school
administrator (学校管理员签字) and the school head (学校负责人签字), and a date line. The PDF
embeds the HanaMin fonts (pdf_fonts.py), so rare characters in names print as glyphs; every
value is escaped before it reaches reportlab's markup; one teacher per page, as schools file
them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.reporting.adapters.pdf_fonts import pdf_fonts
from shared.contracts.vocabulary import LABELS
from shared.spreadsheet import append_row

SIGNATURES = ("教师本人签字", "学校管理员签字", "学校负责人签字")

# (record field, label)
FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "姓名"), ("id_number_masked", "身份证号（脱敏）"), ("gender", "性别"),
    ("birth_date", "出生日期"), ("ethnicity", "民族"), ("political_status", "政治面貌"),
    ("post_status", "任职状态"), ("is_fulltime_teacher", "是否专任教师"),
    ("stage_taught", "任教学段"), ("hire_date", "参加工作年月"),
    ("highest_education", "最高学历"), ("professional_title", "专业技术职务"),
    ("teacher_qualification", "教师资格"),
)


def _value(record: dict[str, Any], key: str) -> str:
    v = record.get(key)
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(LABELS.get(v, v)) if isinstance(v, str) else str(v)


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
        append_row(ws, [i, *(_value(t["record"], k) for k, _ in FIELDS), "", "", "", ""])
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


def confirmation_pdf(school: dict[str, Any], teachers: Sequence[dict[str, Any]],
                     today: date) -> bytes:
    fonts = pdf_fonts()
    font, mark = fonts.main, fonts.markup
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10.5, leading=14)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm,
                            title=f"{school['name']} 教师信息确认表")
    story: list[Any] = []
    if not teachers:
        story.append(Paragraph(mark(f"{school['name']}（{school['school_code']}）教师信息确认表"),
                               title))
        story.append(Paragraph("本校在系统中没有教师记录。", body))
    for n, t in enumerate(teachers):
        if n:
            story.append(PageBreak())
        story.append(Paragraph("教师信息确认表", title))
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(mark(f"学校：{school['name']}（{school['school_code']}）　　"
                                    f"导出日期：{today.isoformat()}　　"
                                    f"第 {n + 1} / {len(teachers)} 份"), body))
        story.append(Spacer(1, 4 * mm))
        data = [[label, Paragraph(mark(_value(t["record"], key)), cell)]
                for key, label in FIELDS]
        table = Table(data, colWidths=[45 * mm, 115 * mm])
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10.5),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ]))
        story.append(table)
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph("本人已核对以上信息，确认真实、准确、完整。", body))
        story.append(Spacer(1, 8 * mm))
        signs = [[f"{label}：", "", "日期：", "　　年　　月　　日"] for label in SIGNATURES]
        st = Table(signs, colWidths=[32 * mm, 58 * mm, 14 * mm, 46 * mm], rowHeights=14 * mm)
        st.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 11),
            ("LINEBELOW", (1, 0), (1, -1), 0.8, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ]))
        story.append(st)
    doc.build(story)
    return buf.getvalue()
