"""Exports keep user text as text: a name that looks like a formula is not run by a spreadsheet,
and CSV starts with the byte-order mark Excel on a Chinese desktop needs."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from services.intake.adapters.tabular import template_csv
from services.reporting.adapters.baseline_files import read_table, write_csv
from services.reporting.adapters.confirmation_docs import confirmation_xlsx
from services.reporting.adapters.renderers import to_csv, to_xlsx
from services.reporting.domain.tables import Column, Report, Table
from shared.spreadsheet import neutral

FORMULA = '=HYPERLINK("http://x","y")'


def _report() -> Report:
    table = Table("schools", "分学校表", (Column("school", "学校"), Column("delta", "差额", "int")),
                  ({"school": FORMULA, "delta": -3}, {"school": "@SUM(A1)", "delta": 2}))
    return Report("schools", "分学校表", "2026-12-04T00:00:00", "2026-12-04", (table,))


def test_a_teacher_named_like_a_formula_is_text_in_the_confirmation_xlsx():
    teachers = [{"record": {"name": FORMULA, "gender": "female"}}]
    data = confirmation_xlsx({"name": "+学校", "school_code": "1" * 10}, teachers,
                             date(2026, 12, 4))
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    name = next(c for c in cells if c.value == FORMULA)
    assert name.data_type == "s" and name.quotePrefix


def test_report_xlsx_stores_formula_looking_names_as_strings_and_numbers_as_numbers():
    ws = load_workbook(io.BytesIO(to_xlsx(_report()))).worksheets[0]
    rows = list(ws.iter_rows(min_row=3))
    assert [(c.value, c.data_type) for c in rows[0]] == [(FORMULA, "s"), (-3, "n")]
    assert rows[1][0].data_type == "s" and rows[1][0].quotePrefix


def test_report_csv_starts_with_a_bom_and_quotes_formula_looking_text_but_not_numbers():
    data = to_csv(_report())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1] == ["'" + FORMULA, "-3"]
    assert rows[2] == ["'@SUM(A1)", "2"]


def test_every_formula_prefix_is_neutralised_and_plain_text_is_untouched():
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        assert neutral(prefix + "1") == "'" + prefix + "1"
    assert neutral("王芳") == "王芳" and neutral(-3) == -3 and neutral(None) is None


def test_baseline_templates_and_the_import_template_are_csv_with_a_bom_that_reads_back():
    data = write_csv(["county_code", "name"], [["620102", "-城关区"]])
    assert data.startswith(b"\xef\xbb\xbf") and template_csv().startswith(b"\xef\xbb\xbf")
    header, rows = read_table(data, "t.csv")
    assert header == ["county_code", "name"] and rows == [["620102", "'-城关区"]]
