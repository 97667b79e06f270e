"""Reading a restructuring batch from CSV and JSON: lines, values, and every format problem."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from uuid import uuid4

from services.orgsync.domain.model import IssueKind
from services.orgsync.domain.parsing import (
    COLUMNS,
    MAX_OPERATIONS,
    ParsedBatch,
    parse_csv,
    parse_json,
)
from shared.contracts.vocabulary import ReportingLine, Stage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "restructuring_batch_example.csv"
HEADER = ",".join(COLUMNS)


def a_code() -> str:
    return f"S{uuid4().hex[:10]}"


def a_batch_id() -> str:
    return f"T{uuid4().hex[:8]}"


def row(batch_id: str, op: str, school: str, *, target: str = "", name: str = "",
        stage: str = "", point: str = "", county: str = "", city: str = "", line: str = "",
        rural: str = "", effective: str = "2017-06-30") -> str:
    return ",".join([batch_id, effective, op, school, target, name, stage, point, county, city,
                     line, rural])


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def kinds(parsed: ParsedBatch) -> list[IssueKind]:
    return [i.kind for i in parsed.issues]


def test_a_csv_batch_keeps_every_operation_in_file_order_with_its_line():
    bid, a, b = a_batch_id(), a_code(), a_code()
    parsed = parse_csv(csv_of(row(bid, "merge", a, target=b), row(bid, "rename", b, name="新名")))
    assert parsed.ok
    assert parsed.batch is not None
    assert parsed.batch.batch_id == bid
    assert parsed.batch.effective_date == date(2017, 6, 30)
    assert [(o.line, o.op, o.school_code) for o in parsed.batch.operations] == [
        (2, "merge", a), (3, "rename", b)]


def test_blank_rows_and_comment_rows_are_skipped_but_lines_keep_counting():
    bid = a_batch_id()
    data = (f"# a comment\n{HEADER}\n\n{row(bid, 'close', a_code())}\n# another\n"
            f"{row(bid, 'close', a_code())}\n").encode()
    parsed = parse_csv(data)
    assert parsed.batch is not None
    assert [o.line for o in parsed.batch.operations] == [4, 6]


def test_the_example_file_of_the_documentation_reads_without_problems():
    parsed = parse_csv(EXAMPLE.read_bytes())
    assert parsed.ok, parsed.issues
    assert parsed.batch is not None
    assert {o.op for o in parsed.batch.operations} == {
        "open", "merge", "close", "rename", "restage", "change_reporting_line", "move_county"}


def test_every_row_must_carry_the_same_batch_id_and_effective_date():
    bid = a_batch_id()
    parsed = parse_csv(csv_of(row(bid, "close", a_code()),
                              row(a_batch_id(), "close", a_code()),
                              row(bid, "close", a_code(), effective="2017-07-01")))
    assert [(i.kind, i.line, i.field) for i in parsed.issues] == [
        (IssueKind.MIXED_HEADER, 3, "batch_id"), (IssueKind.MIXED_HEADER, 4, "effective_date")]
    assert not parsed.ok


def test_an_unreadable_effective_date_refuses_the_batch():
    parsed = parse_csv(csv_of(row(a_batch_id(), "close", a_code(), effective="30.06.2017")))
    assert kinds(parsed) == [IssueKind.BAD_EFFECTIVE_DATE]
    assert parsed.batch is None


def test_the_date_forms_people_type_are_read():
    for text in ("2017-06-30", "2017/6/30", "2017年6月30日"):
        parsed = parse_csv(csv_of(row(a_batch_id(), "close", a_code(), effective=text)))
        assert parsed.batch is not None
        assert parsed.batch.effective_date == date(2017, 6, 30)


def test_an_impossible_date_is_refused():
    parsed = parse_csv(csv_of(row(a_batch_id(), "close", a_code(), effective="2017-02-30")))
    assert kinds(parsed) == [IssueKind.BAD_EFFECTIVE_DATE]


def test_a_batch_id_that_cannot_name_a_stream_is_refused():
    parsed = parse_csv(csv_of(row("第二季度 批次", "close", a_code())))
    assert kinds(parsed) == [IssueKind.BAD_BATCH_ID]


def test_an_invalid_stage_and_an_invalid_reporting_line_are_each_reported_on_their_line():
    bid = a_batch_id()
    parsed = parse_csv(csv_of(row(bid, "restage", a_code(), stage="大学"),
                              row(bid, "change_reporting_line", a_code(), line="乡属")))
    assert [(i.kind, i.line, i.field) for i in parsed.issues] == [
        (IssueKind.INVALID_VALUE, 2, "stage"), (IssueKind.INVALID_VALUE, 3, "reporting_line")]


def test_chinese_words_are_read_for_operations_stages_reporting_lines_and_flags():
    bid, a, b, c = a_batch_id(), a_code(), a_code(), a_code()
    parsed = parse_csv(csv_of(
        row(bid, "合并", a, target=b),
        row(bid, "变更学段", b, stage="小学", point="是"),
        row(bid, "变更隶属关系", c, line="厅直属")))
    assert parsed.ok, parsed.issues
    assert parsed.batch is not None
    ops = parsed.batch.operations
    assert [o.op for o in ops] == ["merge", "restage", "change_reporting_line"]
    assert (ops[1].stage, ops[1].is_teaching_point) == (Stage.PRIMARY, True)
    assert ops[2].reporting_line is ReportingLine.PROVINCE


def test_an_unknown_operation_is_refused():
    parsed = parse_csv(csv_of(row(a_batch_id(), "split", a_code())))
    assert kinds(parsed) == [IssueKind.UNKNOWN_OP]


def test_each_operation_names_the_fields_it_needs():
    bid = a_batch_id()
    parsed = parse_csv(csv_of(row(bid, "merge", a_code()),
                              row(bid, "open", a_code(), name="新校"),
                              row(bid, "rename", ""),
                              row(bid, "move_county", a_code())))
    assert [(i.kind, i.line, i.field) for i in parsed.issues] == [
        (IssueKind.MISSING_FIELD, 2, "target_code"),
        (IssueKind.MISSING_FIELD, 3, "county_code"), (IssueKind.MISSING_FIELD, 3, "stage"),
        (IssueKind.MISSING_FIELD, 4, "school_code"), (IssueKind.MISSING_FIELD, 4, "name"),
        (IssueKind.MISSING_FIELD, 5, "county_code")]


def test_a_field_the_operation_does_not_use_is_refused_rather_than_ignored():
    parsed = parse_csv(csv_of(row(a_batch_id(), "rename", a_code(), name="新名", stage="初中")))
    assert [(i.kind, i.field) for i in parsed.issues] == [(IssueKind.UNUSED_FIELD, "stage")]


def test_an_unknown_county_code_is_refused():
    parsed = parse_csv(csv_of(row(a_batch_id(), "move_county", a_code(), county="629999")))
    assert kinds(parsed) == [IssueKind.UNKNOWN_COUNTY]


def test_a_city_that_is_not_the_countys_is_refused():
    # 秦安县 (620522) belongs to 天水市 (620500), not to 兰州市 (620100)
    parsed = parse_csv(csv_of(row(a_batch_id(), "move_county", a_code(), county="620522",
                                  city="620100")))
    assert kinds(parsed) == [IssueKind.CITY_MISMATCH]
    assert "天水市" in parsed.issues[0].message


def test_a_blank_city_is_filled_in_from_the_county():
    parsed = parse_csv(csv_of(row(a_batch_id(), "move_county", a_code(), county="620522")))
    assert parsed.batch is not None
    assert parsed.batch.operations[0].city_code == "620500"


def test_a_teaching_point_must_be_of_the_primary_stage():
    parsed = parse_csv(csv_of(row(a_batch_id(), "open", a_code(), name="某教学点", stage="初中",
                                  point="是", county="620522")))
    assert kinds(parsed) == [IssueKind.TEACHING_POINT_STAGE]


def test_a_flag_that_is_not_yes_or_no_is_refused():
    parsed = parse_csv(csv_of(row(a_batch_id(), "move_county", a_code(), county="620522",
                                  rural="maybe")))
    assert [(i.kind, i.field) for i in parsed.issues] == [(IssueKind.INVALID_VALUE, "is_rural")]


def test_a_header_with_unknown_or_missing_columns_is_refused_at_once():
    parsed = parse_csv(csv_of("x,y", header="batch_id,effective_date,operation,school_code"))
    assert kinds(parsed) == [IssueKind.FORMAT, IssueKind.FORMAT]
    assert parsed.batch is None


def test_a_header_with_only_the_needed_columns_is_enough():
    bid = a_batch_id()
    parsed = parse_csv(csv_of(f"{bid},2017-06-30,close,{a_code()}",
                              header="batch_id,effective_date,op,school_code"))
    assert parsed.ok


def test_an_empty_file_and_a_file_with_only_a_header_are_refused():
    assert kinds(parse_csv(b"")) == [IssueKind.EMPTY_BATCH]
    assert kinds(parse_csv(csv_of())) == [IssueKind.EMPTY_BATCH]


def test_a_csv_saved_by_excel_on_a_chinese_windows_is_read():
    bid, a = a_batch_id(), a_code()
    parsed = parse_csv(csv_of(row(bid, "rename", a, name="秦安县第二中学")).decode()
                       .encode("gbk"))
    assert parsed.batch is not None
    assert parsed.batch.operations[0].name == "秦安县第二中学"


def test_a_utf8_csv_with_a_byte_order_mark_is_read():
    parsed = parse_csv(b"\xef\xbb\xbf" + csv_of(row(a_batch_id(), "close", a_code())))
    assert parsed.ok


def test_the_readable_operations_are_kept_when_other_lines_are_not():
    bid, a = a_batch_id(), a_code()
    parsed = parse_csv(csv_of(row(bid, "close", a), row(bid, "split", a_code())))
    assert not parsed.ok
    assert parsed.batch is not None
    assert [o.school_code for o in parsed.batch.operations] == [a]


def test_a_json_batch_and_a_csv_batch_with_the_same_operations_are_the_same_batch():
    bid, a, b = a_batch_id(), a_code(), a_code()
    from_csv = parse_csv(csv_of(row(bid, "merge", a, target=b)))
    from_json = parse_json(json.dumps({
        "batch_id": bid, "effective_date": "2017-06-30",
        "operations": [{"op": "merge", "school_code": a, "target_code": b}]}).encode())
    assert from_csv.batch is not None and from_json.batch is not None
    assert from_json.batch.operations[0].line == 1
    assert from_csv.batch.operations[0].line == 2
    assert from_csv.batch.fingerprint() == from_json.batch.fingerprint()


def test_json_numbers_and_booleans_are_read_as_the_csv_would_read_them():
    parsed = parse_json(json.dumps({
        "batch_id": a_batch_id(), "effective_date": "2017-06-30",
        "operations": [{"op": "open", "school_code": 2162052301, "name": "新园",
                        "stage": "kindergarten", "county_code": 620522, "is_rural": True}]
    }).encode())
    assert parsed.ok, parsed.issues
    assert parsed.batch is not None
    opened = parsed.batch.operations[0]
    assert (opened.school_code, opened.county_code, opened.is_rural) == ("2162052301", "620522",
                                                                         True)


def test_json_operations_are_checked_like_csv_rows_and_unknown_keys_are_refused():
    parsed = parse_json(json.dumps({
        "batch_id": a_batch_id(), "effective_date": "2017-06-30",
        "operations": [{"op": "close", "school_code": a_code(), "reason": "x"},
                       {"op": "merge", "school_code": a_code()}, "close"]}).encode())
    assert [(i.kind, i.line) for i in parsed.issues] == [
        (IssueKind.FORMAT, 1), (IssueKind.MISSING_FIELD, 2), (IssueKind.FORMAT, 3)]


def test_broken_json_and_a_json_without_operations_are_refused():
    assert kinds(parse_json(b"{not json")) == [IssueKind.FORMAT]
    assert kinds(parse_json(json.dumps({"batch_id": "B1", "effective_date": "2017-06-30",
                                        "operations": []}).encode())) == [IssueKind.EMPTY_BATCH]


def test_a_batch_larger_than_one_event_can_carry_is_refused():
    bid = a_batch_id()
    parsed = parse_csv(csv_of(*(row(bid, "close", a_code()) for _ in range(MAX_OPERATIONS + 1))))
    assert kinds(parsed) == [IssueKind.TOO_MANY_OPERATIONS]
