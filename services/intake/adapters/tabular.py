"""CSV and XLSX files of teachers: reading them row by row, and writing the import template.

`open_rows` looks at the content (an XLSX is a ZIP archive; anything else is read as CSV, in
UTF-8 or, failing that, GB18030 as Excel saves it in China), maps the header row to fields and
returns an iterator of (row number, field -> cell) that reads lazily: a 50,000-row file is never
held in memory as rows. A file without the required columns is refused before any row is read.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services.intake.domain.importing import COLUMNS, EXAMPLE_MARK, map_headers
from services.intake.domain.labels import label
from services.intake.domain.record import ETHNIC_GROUPS
from shared.contracts.vocabulary import Gender, PostStatus, Stage
from shared.domain.idnumber import synthetic_id_number
from shared.errors import Problem, ValidationProblem
from shared.spreadsheet import append_row, csv_bytes
from shared.xlsx_input import open_workbook, sheet_rows

Rows = Iterator[tuple[int, dict[str, Any]]]
_ZIP_MAGIC = b"PK\x03\x04"
_SNIFF = 64 * 1024
_FIELD_LIMIT = 64 * 1024


def _refuse(msg: str) -> ValidationProblem:
    return ValidationProblem([Problem("file", msg)])


def open_rows(f: IO[bytes]) -> Rows:
    """The data rows of a CSV or XLSX file (header row mapped, row numbers as a spreadsheet
    shows them: the header is row 1 when it is the first line)."""
    head = f.read(len(_ZIP_MAGIC))
    f.seek(0)
    if head == _ZIP_MAGIC:
        return _xlsx_rows(f)
    return _csv_rows(f)


def _encoding(f: IO[bytes]) -> str:
    sample = f.read(_SNIFF)
    f.seek(0)
    if b"\x00" in sample:
        raise _refuse("the file is neither CSV text nor an XLSX workbook (文件格式不正确)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _header(rows: Iterator[tuple[int, list[Any]]]) -> tuple[dict[int, str], int]:
    for number, cells in rows:
        if any(c is not None and str(c).strip() for c in cells):
            mapping, missing = map_headers(list(cells))
            if missing:
                raise _refuse(f"the header row (row {number}) lacks the required columns "
                              f"{', '.join(missing)}; start from `tmis import --template` "
                              "(缺少必填列，请使用导入模板)")
            return mapping, number
    raise _refuse("the file has no header row (文件为空)")


def _cells(mapping: dict[int, str], values: list[Any]) -> dict[str, Any]:
    return {field: values[i] if i < len(values) else None for i, field in mapping.items()}


def _csv_rows(f: IO[bytes]) -> Rows:
    text = io.TextIOWrapper(f, encoding=_encoding(f), errors="replace", newline="")
    csv.field_size_limit(_FIELD_LIMIT)
    reader = csv.reader(text)
    numbered = ((i, list(row)) for i, row in enumerate(_guarded(reader), start=1))
    mapping, _ = _header(numbered)

    def rows() -> Rows:
        for number, values in numbered:
            yield number, _cells(mapping, values)

    return rows()


def _guarded(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise _refuse(f"the CSV cannot be read: {exc} (CSV 文件格式错误)") from None


def _xlsx_rows(f: IO[bytes]) -> Rows:
    book = open_workbook(f)  # bounded: decompressed size, ratio, rows, columns; defusedxml
    numbered = enumerate(sheet_rows(book), start=1)
    try:
        mapping, _ = _header(numbered)
    except ValidationProblem:
        book.close()
        raise

    def rows() -> Rows:
        try:
            for number, values in numbered:
                yield number, _cells(mapping, values)
        finally:
            book.close()

    return rows()


# ------------------------------------------------------------------------------ the template


def example_row() -> list[str]:
    """One filled-in row, recognisable as the example (its name starts with 示例)."""
    born = date(1988, 3, 12)
    values: dict[str, str] = {
        "name": f"{EXAMPLE_MARK}-王芳",
        "id_number": synthetic_id_number(random.Random(2017), "620102", born, Gender.FEMALE),
        "gender": label(Gender.FEMALE), "birth_date": born.isoformat(), "ethnicity": "汉族",
        "political_status": "中共党员", "post_status": label(PostStatus.IN_POST),
        "is_fulltime_teacher": label(True), "stage_taught": label(Stage.PRIMARY),
        "hire_date": "2009-09-01", "highest_education": "本科",
        "professional_title": "一级教师", "teacher_qualification": "小学教师资格",
    }
    return [values[c.field] for c in COLUMNS]


TEMPLATE_ROWS = 2000  # rows of the template that carry the text format and the dropdowns
CODES_SHEET = "代码表"


def coded_choices() -> dict[str, list[str]]:
    """The closed vocabularies of the import columns, as the words the template offers."""
    return {
        "gender": [label(g) for g in Gender],
        # 汉族 first, the others in GB18030 order (roughly by pinyin, as Chinese lists are)
        "ethnicity": ["汉族", *sorted(ETHNIC_GROUPS - {"汉族"}, key=lambda e: e.encode("gb18030"))],
        "post_status": [label(p) for p in PostStatus],
        "is_fulltime_teacher": [label(True), label(False)],
        "stage_taught": [label(st) for st in Stage],
    }


def _add_dropdowns(book: openpyxl.Workbook, sheet: Any) -> None:
    """A dropdown (data validation list) on every coded column, its words in a hidden sheet
    (a list written into the rule itself may not exceed 255 characters: the ethnic groups do);
    a typed word outside the list is refused by Excel with a Chinese message."""
    codes = book.create_sheet(CODES_SHEET)
    codes.sheet_state = "hidden"
    place = {c.field: (i, c) for i, c in enumerate(COLUMNS, start=1)}
    for n, (field, words) in enumerate(coded_choices().items(), start=1):
        letter = get_column_letter(n)
        codes.cell(row=1, column=n, value=field)
        for r, word in enumerate(words, start=2):
            codes.cell(row=r, column=n, value=word)
        index, column = place[field]
        rule = DataValidation(
            type="list", formula1=f"'{CODES_SHEET}'!${letter}$2:${letter}${len(words) + 1}",
            allow_blank=True, showErrorMessage=True, errorTitle="填写有误",
            error=f"“{column.title}”请从下拉列表中选择", promptTitle=column.title,
            prompt=column.hint, showInputMessage=True)
        target = get_column_letter(index)
        rule.add(f"{target}2:{target}{TEMPLATE_ROWS}")
        sheet.add_data_validation(rule)


def template_csv() -> bytes:
    return csv_bytes([[c.title for c in COLUMNS], example_row()], lineterminator="\r\n")


def template_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "教师信息"
    append_row(sheet, [c.title for c in COLUMNS])
    append_row(sheet, example_row())
    for i, col in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True, color="C00000" if col.required else "000000")
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = 22 if col.field == "id_number" else 14
        if col.field == "id_number":
            for row in range(2, TEMPLATE_ROWS + 1):  # text, so Excel keeps all 18 digits
                sheet.cell(row=row, column=i).number_format = "@"
    _add_dropdowns(book, sheet)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "必填", "填写说明"])
    for col in COLUMNS:
        append_row(notes, [col.header, "是" if col.required else "否", col.hint])
    append_row(notes, [])
    append_row(notes, [f"姓名以“{EXAMPLE_MARK}”开头的行是示例，导入时跳过。"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
