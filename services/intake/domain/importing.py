"""Bulk import of one school's teachers: the template's columns and the reading of one row.

The template has Chinese headers (required ones marked *) and one example row, whose name
starts with 示例 and which the import skips. Values are the words school staff use (男/女,
在本单位任职/不在本单位任职, 是/否, 小学 ...); the English keys are accepted too, and so are the
English field names as headers, for machine-made files.

`read_row` turns one row (field -> cell value) into a PersonRecord or the row's problems,
each naming the field and its column.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.intake.domain.labels import enum_value, yes_no
from services.intake.domain.record import REQUIRED_FIELDS, PersonRecord, check_record
from shared.contracts.vocabulary import Gender, PostStatus, Stage
from shared.errors import Problem


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    hint: str

    @property
    def required(self) -> bool:
        return self.field in REQUIRED_FIELDS

    @property
    def title(self) -> str:
        return f"{self.header}*" if self.required else self.header


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "王芳"),
    Column("id_number", "身份证号", "18位，末位可为X；请将此列设为文本格式"),
    Column("gender", "性别", "男 / 女"),
    Column("birth_date", "出生日期", "YYYY-MM-DD，须与身份证号一致"),
    Column("ethnicity", "民族", "汉族、回族、藏族、东乡族……"),
    Column("political_status", "政治面貌", "中共党员 / 共青团员 / 群众……"),
    Column("post_status", "岗位状态", "在本单位任职 / 不在本单位任职"),
    Column("is_fulltime_teacher", "是否专任教师", "是 / 否"),
    Column("stage_taught", "任教学段", "幼儿园 / 小学 / 初中 / 高中 / 特教 / 中职 / 高教"),
    Column("hire_date", "参加工作日期", "YYYY-MM-DD 或 YYYY-MM"),
    Column("highest_education", "最高学历", "研究生 / 本科 / 专科 / 高中……"),
    Column("professional_title", "专业技术职务", "高级教师 / 一级教师 / 二级教师……"),
    Column("teacher_qualification", "教师资格证", "如：小学教师资格"),
)
BY_FIELD = {c.field: c for c in COLUMNS}
EXAMPLE_MARK = "示例"
MAX_TEXT = 50

_HEADER_NOISE = re.compile(r"[\s*＊]")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y.%m", "%Y年%m月")


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    msg: str

    @property
    def column(self) -> str:
        col = BY_FIELD.get(self.field)
        return col.header if col else self.field

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "column": self.column, "msg": self.msg}

    def as_problem(self) -> Problem:
        return Problem(self.field, self.msg, self.row)


def map_headers(headers: list[object]) -> tuple[dict[int, str], list[str]]:
    """(column index -> field, missing required headers) for a file's header row."""
    known = {c.header: c.field for c in COLUMNS} | {c.field: c.field for c in COLUMNS}
    found: dict[int, str] = {}
    for i, raw in enumerate(headers):
        key = _HEADER_NOISE.sub("", str(raw or ""))
        field = known.get(key) or known.get(key.lower())
        if field and field not in found.values():
            found[i] = field
    missing = [c.title for c in COLUMNS if c.required and c.field not in found.values()]
    return found, missing


def is_example(cells: dict[str, Any]) -> bool:
    return str(cells.get("name") or "").strip().startswith(EXAMPLE_MARK)


def is_blank(cells: dict[str, Any]) -> bool:
    return all(v is None or str(v).strip() == "" for v in cells.values())


def read_row(row: int, cells: dict[str, Any], today: date
             ) -> tuple[PersonRecord | None, list[RowProblem]]:
    """The row as a valid record, or None and every problem the row has."""
    problems: list[RowProblem] = []
    values: dict[str, Any] = {}

    def bad(field: str, msg: str) -> None:
        problems.append(RowProblem(row, field, msg))

    for col in COLUMNS:
        raw = cells.get(col.field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if col.required:
                bad(col.field, f"{col.header} is required ({col.header}必填)")
            values[col.field] = None
            continue
        try:
            values[col.field] = _convert(col.field, raw)
        except ValueError as exc:
            bad(col.field, str(exc))
    if problems:
        return None, problems
    record = PersonRecord(**values)
    problems = [RowProblem(row, p.loc, p.msg) for p in check_record(record, today)]
    return (None, problems) if problems else (record, [])


def _convert(field: str, raw: Any) -> Any:
    if field in ("birth_date", "hire_date"):
        return parse_date(raw, month_ok=field == "hire_date")
    if field == "id_number":
        return _id_text(raw)
    if field == "gender":
        return _enum(Gender, raw, "男 or 女")
    if field == "post_status":
        return _enum(PostStatus, raw, "在本单位任职 or 不在本单位任职")
    if field == "stage_taught":
        return _enum(Stage, raw, "幼儿园, 小学, 初中, 高中, 特教, 中职 or 高教")
    if field == "is_fulltime_teacher":
        flag = yes_no(raw)
        if flag is None:
            raise ValueError(f"{raw!r} is not 是 or 否")
        return flag
    return _text(raw)


def _enum(kind: Any, raw: Any, allowed: str) -> Any:
    value = enum_value(kind, raw)
    if value is None:
        raise ValueError(f"{str(raw).strip()!r} is not one of {allowed}")
    return value


def _text(raw: Any) -> str:
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters")
    if any(ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ValueError("contains control characters")
    return text


def _id_text(raw: Any) -> str:
    if isinstance(raw, float):
        raise ValueError("the ID number was stored as a number and lost digits; format the "
                         "column as text and enter it again (身份证号列须为文本格式)")
    return _text(raw).upper()


def parse_date(raw: Any, *, month_ok: bool = False) -> date:
    """A date from a cell: a date/datetime, or text in the usual Chinese office formats;
    with `month_ok`, a year and month (参加工作年月) mean the first of that month."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        with contextlib.suppress(ValueError):  # the template's own YYYY-MM-DD, fast
            return date.fromisoformat(text)
    for fmt in _DATE_FORMATS + (_MONTH_FORMATS if month_ok else ()):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date; write YYYY-MM-DD (日期格式应为 YYYY-MM-DD)")
