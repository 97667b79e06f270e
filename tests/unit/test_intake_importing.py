"""Reading import files (CSV and XLSX, Chinese headers and values) and the template."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime

import openpyxl
import pytest

from services.intake.adapters.tabular import (
    TEMPLATE_ROWS,
    coded_choices,
    example_row,
    open_rows,
    template_csv,
    template_xlsx,
)
from services.intake.domain.importing import COLUMNS, is_example, map_headers, read_row
from shared.contracts.vocabulary import Gender, PostStatus, Stage
from shared.domain.idnumber import synthetic_id_number
from shared.errors import ValidationProblem

TODAY = date(2017, 4, 7)
HEADERS = [c.title for c in COLUMNS]


def a_row(rng: random.Random) -> list[str]:
    born = date(rng.randint(1965, 1990), rng.randint(1, 12), rng.randint(1, 28))
    gender = rng.choice([Gender.MALE, Gender.FEMALE])
    cells = {
        "name": "张伟", "id_number": synthetic_id_number(rng, "620521", born, gender),
        "gender": "男" if gender is Gender.MALE else "女", "birth_date": born.isoformat(),
        "ethnicity": "回族", "political_status": "", "post_status": "在本单位任职",
        "is_fulltime_teacher": "否", "stage_taught": "初中",
        "hire_date": f"{born.year + 22}-09", "highest_education": "",
        "professional_title": "", "teacher_qualification": "",
    }
    return [cells[c.field] for c in COLUMNS]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def test_a_row_in_the_templates_chinese_words_reads_as_a_record() -> None:
    row = a_row(random.Random(3))
    record, problems = read_row(2, dict(zip([c.field for c in COLUMNS], row, strict=True)),
                                TODAY)
    assert problems == [] and record is not None
    assert record.post_status is PostStatus.IN_POST and record.stage_taught is Stage.JUNIOR
    assert record.is_fulltime_teacher is False
    assert record.hire_date is not None and record.hire_date.day == 1  # a year-month is the 1st


def test_a_rows_problems_name_the_field_and_its_column() -> None:
    cells = dict(zip([c.field for c in COLUMNS], a_row(random.Random(4)), strict=True))
    cells.update(gender="未知", birth_date="1985年13月", name="")
    record, problems = read_row(7, cells, TODAY)
    assert record is None
    assert {(p.row, p.field, p.column) for p in problems} == {
        (7, "gender", "性别"), (7, "birth_date", "出生日期"), (7, "name", "姓名")}


def test_an_id_number_stored_as_a_spreadsheet_number_is_refused_with_advice() -> None:
    cells = dict(zip([c.field for c in COLUMNS], a_row(random.Random(5)), strict=True))
    cells["id_number"] = 6.20521198506151e17
    _, problems = read_row(2, cells, TODAY)
    assert problems[0].field == "id_number" and "text" in problems[0].msg


def test_headers_may_carry_stars_and_spaces_or_be_the_english_field_names() -> None:
    mapping, missing = map_headers([" 姓名 *", "id_number", "性别", "出生日期", "民族", "岗位状态",
                                    "是否专任教师", "参加工作日期", "unknown"])
    assert missing == [] and mapping[1] == "id_number" and 8 not in mapping


def test_a_file_without_the_required_columns_is_refused_before_any_row() -> None:
    with pytest.raises(ValidationProblem) as caught:
        open_rows(io.BytesIO("姓名,性别\n王,男\n".encode()))
    assert caught.value.problems[0].loc == "file" and "身份证号" in caught.value.problems[0].msg


def test_a_gb18030_csv_as_excel_saves_it_in_china_is_read() -> None:
    rows = [a_row(random.Random(i)) for i in range(3)]
    read = list(open_rows(io.BytesIO(csv_bytes(rows, "gb18030"))))
    assert [n for n, _ in read] == [2, 3, 4]
    assert read[0][1]["ethnicity"] == "回族"


def test_an_xlsx_with_dates_as_cells_is_read() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    row: list[object] = list(a_row(random.Random(9)))
    birth_index = [c.field for c in COLUMNS].index("birth_date")
    row[birth_index] = datetime.fromisoformat(str(row[birth_index]))
    sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    [(number, cells)] = list(open_rows(out))
    record, problems = read_row(number, cells, TODAY)
    assert number == 2 and problems == [] and record is not None


def test_the_templates_example_row_is_valid_and_recognised_as_the_example() -> None:
    for content in (template_csv(), template_xlsx()):
        read = [(n, cells) for n, cells in open_rows(io.BytesIO(content))
                if any(v not in (None, "") for v in cells.values())]
        assert len(read) == 1
        number, cells = read[0]
        assert number == 2 and is_example(cells)
        _, problems = read_row(number, cells, TODAY)
        assert problems == []
    assert example_row()[0].startswith("示例")


def test_the_xlsx_template_offers_a_dropdown_for_every_coded_column_and_every_word_reads_back(
        ) -> None:
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    sheet, codes = book["教师信息"], book["代码表"]
    assert codes.sheet_state == "hidden"
    letters = {c.field: openpyxl.utils.get_column_letter(i)
               for i, c in enumerate(COLUMNS, start=1)}
    rules = {str(rule.sqref): rule for rule in sheet.data_validations.dataValidation}
    choices = coded_choices()
    assert set(choices) == {"gender", "ethnicity", "post_status", "is_fulltime_teacher",
                            "stage_taught"}
    for field, words in choices.items():
        rule = rules[f"{letters[field]}2:{letters[field]}{TEMPLATE_ROWS}"]
        assert rule.type == "list" and rule.showErrorMessage
        ref = rule.formula1.split("!")[1].replace("$", "")
        listed = [c.value for row in codes[ref] for c in row]
        assert listed == words
        for word in words:  # each word the dropdown offers is one the importer accepts
            row = dict(zip((c.field for c in COLUMNS), example_row(), strict=True))
            row[field] = word
            if field == "gender":  # the ID number's sex digit agrees with the word chosen
                sex = Gender.MALE if word == "男" else Gender.FEMALE
                row["id_number"] = synthetic_id_number(random.Random(1), "620102",
                                                       date(1988, 3, 12), sex)
            _, problems = read_row(2, {**row, "name": "张三"}, TODAY)
            assert problems == [], (field, word, problems)
    assert len(choices["ethnicity"]) == 58 and choices["ethnicity"][0] == "汉族"


def test_binary_junk_is_refused_as_a_file_problem() -> None:
    with pytest.raises(ValidationProblem):
        open_rows(io.BytesIO(b"\x00\x01\x02garbage" * 100))
    with pytest.raises(ValidationProblem):
        open_rows(io.BytesIO(b"PK\x03\x04 not really a zip"))
