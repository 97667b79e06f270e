"""The teacher information confirmation table (教师信息确认表, annex 1 of the notice) as a PDF:
one page per teacher, their record, the statement "本人已核对以上信息" and the three signature
lines (teacher, school administrator, school head), each with a date.

Reporting prints it for a whole school with the masked ID number (its projections hold no
other); intake prints a teacher's own copy with their full ID number, which is theirs to check.
The fonts are embedded (shared/pdf_fonts.py), so rare characters in names print as glyphs;
every value is escaped before it reaches reportlab's markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shared.contracts.vocabulary import LABELS
from shared.pdf_fonts import pdf_fonts

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


def field_text(record: dict[str, Any], key: str) -> str:
    v = record.get(key)
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(LABELS.get(v, v)) if isinstance(v, str) else str(v)


OWN_FIELDS: tuple[tuple[str, str], ...] = tuple(
    ("id_number", "身份证号") if key == "id_number_masked" else (key, label)
    for key, label in FIELDS)


def confirmation_pdf(school: dict[str, Any], teachers: Sequence[dict[str, Any]],
                     today: date, fields: Sequence[tuple[str, str]] = FIELDS) -> bytes:
    """One page per teacher: their record as `fields` name it, the statement, and the three
    signature lines with a date each."""
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
        data = [[label, Paragraph(mark(field_text(t["record"], key)), cell)]
                for key, label in fields]
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
