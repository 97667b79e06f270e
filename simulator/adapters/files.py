"""The files and bodies the simulator sends: a school's import file in the template's Chinese
columns, a teacher's record as JSON, a proof document (a tiny valid PDF made in memory), the
baselines as CSV, and restructuring batches as JSON.

The import file's header is intake's own template header (fetched once from
GET /v1/imports/template): the simulator fills in the columns a school administrator would,
with the words they would type (男/女, 在本单位任职, 是/否, 小学 ...).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from shared.contracts.vocabulary import LABELS, Gender, PostStatus, Stage
from simulator.domain.model import AnnualRow, RestructuringBatch
from simulator.domain.teachers import TeacherPlan

# The template's columns: field -> the Chinese header (without the '*' of required columns).
HEADERS: dict[str, str] = {
    "name": "姓名", "id_number": "身份证号", "gender": "性别", "birth_date": "出生日期",
    "ethnicity": "民族", "political_status": "政治面貌", "post_status": "岗位状态",
    "is_fulltime_teacher": "是否专任教师", "stage_taught": "任教学段",
    "hire_date": "参加工作日期", "highest_education": "最高学历",
    "professional_title": "专业技术职务", "teacher_qualification": "教师资格证",
}
RECORD_FIELDS: tuple[str, ...] = tuple(HEADERS)
_MARKS = re.compile(r"[\s*＊]")


class TemplateChanged(ValueError):
    """Intake's import template no longer has a column the simulator fills in."""


def template_columns(template_csv: str) -> list[str | None]:
    """The field of each column of intake's template header (None: a column we leave blank)."""
    header = next(csv.reader(io.StringIO(template_csv)), [])
    by_header = {v: k for k, v in HEADERS.items()}
    fields = [by_header.get(_MARKS.sub("", cell)) for cell in header]
    missing = [HEADERS[f] for f in RECORD_FIELDS if f not in fields]
    if missing:
        raise TemplateChanged(f"intake's import template has no column {', '.join(missing)}; "
                              f"its header is {header}")
    return fields


def _word(field: str, value: Any) -> str:
    """A cell as a school administrator types it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    if field == "stage_taught" and value == Stage.PRIMARY:
        return "小学"
    if isinstance(value, Gender | PostStatus | Stage):
        return LABELS[value.value]
    return str(value)


def import_file(header: Sequence[str], columns: Sequence[str | None],
                teachers: Iterable[TeacherPlan]) -> bytes:
    """One school's teachers as the template's CSV (UTF-8 with a BOM, as Excel writes it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for t in teachers:
        writer.writerow(["" if f is None else _word(f, getattr(t, f)) for f in columns])
    return out.getvalue().encode("utf-8-sig")


def template_header(template_csv: str) -> list[str]:
    return next(csv.reader(io.StringIO(template_csv)), [])


def json_value(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_json(t: TeacherPlan) -> dict[str, Any]:
    """The record as registered, for POST /v1/teachers."""
    return {f: json_value(getattr(t, f)) for f in RECORD_FIELDS}


# --------------------------------------------------------------------------- proof documents


def tiny_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF saying `text` (ASCII), with a correct xref table."""
    safe = text.encode("ascii", "replace").decode().replace("\\", "/").replace("(", "[") \
        .replace(")", "]")
    stream = f"BT /F1 11 Tf 56 780 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return bytes(out)


# --------------------------------------------------------------------------- baselines


_FIGURES = ("schools", "teaching_points", "staff", "fulltime")


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def _figures(r: AnnualRow) -> list[int | None]:
    return [r.schools, r.teaching_points, r.staff, r.fulltime]


def stage_baseline(rows: Sequence[AnnualRow]) -> bytes:
    """The stage table's annual columns as given (blanks blank, the total row as stated)."""
    return _csv(("stage", "stage_name", *_FIGURES),
                (["total" if r.is_total else (r.stage.value if r.stage else ""), r.name or "",
                  *_figures(r)] for r in rows))


def school_baseline(rows: Sequence[AnnualRow]) -> bytes:
    return _csv(("school_code", "school_name", "stage", *_FIGURES),
                ([r.code, r.name or "", r.stage.value if r.stage else "", *_figures(r)]
                 for r in rows))


def county_baseline(rows: Sequence[AnnualRow]) -> bytes:
    return _csv(("county_code", "county_name", "stage", *_FIGURES),
                ([r.code, r.name or "", r.stage.value if r.stage else "", *_figures(r)]
                 for r in rows))


# --------------------------------------------------------------------------- batches


def batch_json(batch: RestructuringBatch, effective: date | None = None) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    for op in batch.operations:
        item: dict[str, Any] = {"op": op.op, "school_code": op.school_code}
        if op.target_code:
            item["target_code"] = op.target_code
        ops.append(item)
    return {"batch_id": batch.batch_id,
            "effective_date": (effective or batch.effective_date).isoformat(),
            "operations": ops}
