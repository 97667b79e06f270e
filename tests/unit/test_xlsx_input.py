"""Uploaded XLSX workbooks are read with bounds: a zip bomb, a huge sheet, a crafted dimension
and XML entities are refused (422 on the file field) before they cost memory or time."""

from __future__ import annotations

import io
import tracemalloc

import openpyxl
import pytest

from services.intake.adapters.tabular import open_rows, template_xlsx
from services.reporting.adapters.baseline_files import read_table, write_xlsx
from shared.errors import ValidationProblem
from shared.xlsx_input import open_workbook, sheet_rows
from tests.attacks import HEAD, bomb, with_sheet


@pytest.fixture(scope="module")
def a_bomb() -> bytes:
    return bomb(300)


def test_an_xlsx_bomb_is_refused_from_its_zip_directory_before_any_parsing(a_bomb: bytes) -> None:
    assert len(a_bomb) < 2 * 1024 * 1024  # small on the wire, 300 MiB inside
    tracemalloc.start()
    with pytest.raises(ValidationProblem) as refused:
        open_rows(io.BytesIO(a_bomb))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # memory, not time: nothing was inflated (no timed asserts)
    assert refused.value.problems[0].loc == "file"
    assert "解压后超过大小限制" in refused.value.problems[0].msg


def test_the_reporting_baseline_reader_refuses_the_same_bomb(a_bomb: bytes) -> None:
    with pytest.raises(ValidationProblem, match="decompresses"):
        read_table(a_bomb, "baseline.xlsx")


def test_one_member_that_grows_too_many_times_is_refused_even_under_the_total() -> None:
    small_bomb = bomb(20)  # 20 MiB, under the 128 MiB total, ~1000 times its compressed size
    with pytest.raises(ValidationProblem) as refused:
        open_workbook(small_bomb)
    assert "压缩比异常" in refused.value.problems[0].msg


def test_the_total_limit_holds_whatever_the_ratio() -> None:
    with pytest.raises(ValidationProblem, match="解压后超过大小限制"):
        open_workbook(template_xlsx(), max_bytes=1000)


def test_a_sheet_with_more_rows_than_the_limit_is_refused() -> None:
    header, rows = ["a", "b"], [[str(i), "x"] for i in range(30)]
    book = open_workbook(write_xlsx(header, rows, "t"))
    with pytest.raises(ValidationProblem, match="工作表超过 10 行"):
        list(sheet_rows(book, max_rows=10))


def test_a_crafted_dimension_and_a_far_row_pad_no_more_than_the_column_limit() -> None:
    far = (HEAD + b'<dimension ref="A1:XFD3"/><sheetData>'
           b'<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'
           b'<row r="3"><c r="XFD3" t="inlineStr"><is><t>far</t></is></c></row>'
           b"</sheetData></worksheet>")
    rows = list(sheet_rows(open_workbook(with_sheet(template_xlsx(), [far])), max_columns=8))
    assert [len(r) for r in rows] == [8, 8, 8]
    assert rows[0][0] == "h" and "far" not in rows[2]


def test_xml_entities_are_refused_by_the_safe_parser() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row>'
              b"</sheetData></worksheet>")
    with pytest.raises(ValidationProblem, match="Excel"):
        list(sheet_rows(open_workbook(with_sheet(template_xlsx(), [laughs]))))


def test_an_ordinary_workbook_still_reads_as_before() -> None:
    header, rows = ["县", "学校数"], [["620102", 3], ["620103", None]]
    got_header, got_rows = read_table(write_xlsx(header, rows, "t"))
    assert got_header == header and got_rows == rows
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()), read_only=True)
    assert book.worksheets[0].max_row == 2000  # the template's formatted rows: still fine
    assert len(list(open_rows(io.BytesIO(template_xlsx())))) >= 1
