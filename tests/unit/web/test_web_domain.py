"""The pure rules of the pages: who sees what, the session's claims and CSRF token, the teacher
form and where intake's problems go, and the view models."""

from __future__ import annotations

import time

import pytest

from services.web.domain.forms import (
    TEACHER_FIELD_NAMES,
    chinese_message,
    field_of,
    map_problems,
    new_record,
    record_changes,
)
from services.web.domain.navigation import home_for, may_apply, may_plan, nav_for, review_level
from services.web.domain.session import csrf_ok, csrf_token, session_user
from services.web.domain.views import (
    parse_selection,
    queue_rows,
    report_tables,
    school_rows,
)
from shared.auth import mint_token
from tests.unit.web.fakes import SCHOOL, SETTINGS, token


@pytest.mark.parametrize("role, home", [
    ("school_admin", "/school"), ("school_sysadmin", "/school"), ("county_admin", "/review"),
    ("city_admin", "/dashboard"), ("province_admin", "/dashboard"), ("query", "/dashboard"),
    ("teacher", "/me"),
])
def test_each_role_lands_on_its_own_page(role: str, home: str) -> None:
    assert home_for(role) == home


def test_only_province_applies_and_only_province_and_city_plan_restructurings() -> None:
    assert may_apply("province_admin") and not may_apply("city_admin")
    assert may_plan("city_admin") and not may_plan("county_admin")
    assert "撤并调整" not in [link.label for link in nav_for("school_admin")]


def test_the_school_reviews_first_and_the_bureaus_after_it() -> None:
    assert review_level("school_admin") == "school"
    assert review_level("county_admin") == "county"
    # city and province review their own 市属 / 厅直属 schools' records after the school
    assert review_level("city_admin") == review_level("province_admin") == "county"
    assert review_level("query") is None


def test_the_session_is_read_from_the_tokens_claims_and_an_expired_one_is_none() -> None:
    raw = token("school_admin", school_code=SCHOOL)
    user = session_user(raw)
    assert user is not None and user.role == "school_admin" and user.school_code == SCHOOL
    assert session_user(raw, now=time.time() + 7200) is None
    assert session_user("not.a.token") is None
    assert session_user(None) is None


def test_the_top_bar_greets_an_account_by_its_display_name_when_it_has_one() -> None:
    named = session_user(mint_token(SETTINGS, "county_admin", subject="xian.a.shenhe",
                                    county_code="620102", display_name="县信息管理员甲"))
    anonymous = session_user(mint_token(SETTINGS, "county_admin", subject="xian.a.shenhe",
                                        county_code="620102"))
    assert named is not None and named.display_name == "县信息管理员甲"
    assert anonymous is not None and anonymous.display_name == "xian.a.shenhe"


def test_the_csrf_token_belongs_to_one_session_and_one_key() -> None:
    made = csrf_token("key", "session-a")
    assert csrf_ok("key", "session-a", made)
    assert not csrf_ok("key", "session-b", made)
    assert not csrf_ok("other-key", "session-a", made)
    assert not csrf_ok("key", None, made)


@pytest.mark.parametrize("loc", ["body.record.id_number", "record.id_number", "id_number",
                                 ["body", "record", "id_number"]])
def test_a_problem_finds_its_field_whatever_the_shape_of_its_loc(loc: object) -> None:
    assert field_of(loc, TEACHER_FIELD_NAMES) == "id_number"


def test_a_problem_of_no_field_of_the_form_is_a_general_error() -> None:
    errors = map_problems([{"loc": "school_code", "msg": "school is closed (学校已撤销)"}],
                          TEACHER_FIELD_NAMES)
    assert errors.fields == {} and errors.general == ["学校已撤销（school is closed）"]


@pytest.mark.parametrize("english, chinese", [
    ("Field required", "必填"),
    ("Input should be a valid date or datetime, input is too short",
     "日期格式不正确（应为 年-月-日）"),
    ("String should have at most 50 characters", "过长（最多 50 个字）"),
    ("Input should be 'male' or 'female'", "取值无效，请从列表中选择"),
    ("invalid ID number: bad check digit (身份证号无效)", "身份证号无效（invalid ID number: bad "
                                                       "check digit）"),
    ("not filled: highest_education, teacher_qualification (信息不完整)",
     "信息不完整：最高学历、教师资格"),
    ("missing: hire_date (必填项缺失)", "必填项缺失：参加工作日期"),
    ("something else entirely", "something else entirely"),
])
def test_backend_messages_are_shown_in_chinese(english: str, chinese: str) -> None:
    assert chinese_message(english) == chinese


def test_a_new_record_leaves_out_empty_fields_and_types_the_booleans() -> None:
    record = new_record({"name": "李华", "is_fulltime_teacher": "false", "political_status": "",
                         "stage_taught": ""})
    assert record == {"name": "李华", "is_fulltime_teacher": False}


def test_an_edit_sends_only_changes_and_clears_an_emptied_optional_field() -> None:
    before = {"name": "李华", "id_number": "X", "political_status": "群众", "ethnicity": "汉族"}
    after = {"name": "李华", "id_number": "", "political_status": "", "ethnicity": "回族"}
    assert record_changes(before, after) == {"political_status": None, "ethnicity": "回族"}


def test_a_schools_teachers_carry_their_review_status_and_the_rejection_reason() -> None:
    teachers = [{"teacher_id": "t1", "record": {"name": "乙", "gender": "male",
                                                "post_status": "in_post"}},
                {"teacher_id": "t2", "record": {"name": "甲", "gender": "female",
                                                "post_status": "in_post"}}]
    queue = [{"teacher_id": "t1", "status": "rejected",
              "rejected": {"level": "school", "reason": "照片不清"}}]
    rows = school_rows(teachers, queue)
    assert [(r.name, r.status_label, r.reject_reason) for r in rows] == [
        ("乙", "已退回", "学校审核：照片不清"), ("甲", "未进入审核", "")]
    assert rows[0].gender == "男"


def test_queue_rows_say_whether_a_transfer_has_its_proof() -> None:
    (row,) = queue_rows([{"teacher_id": "t1", "record_version": 3, "name": "甲",
                          "kind": "transfer", "status": "school_approved", "has_proof": False,
                          "submitted_at": "2026-11-20T09:00:00+08:00"}])
    assert (row.kind, row.proof, row.selection, row.submitted_at) == (
        "省内调动", "无", "t1:3", "2026-11-20 09:00")


def test_a_selection_that_is_not_id_and_version_is_set_aside() -> None:
    assert parse_selection(["a:1", "b", "c:x"]) == ([("a", 1)], ["b", "c:x"])


def test_a_report_table_formats_counts_and_rates_for_reading() -> None:
    (table,) = report_tables({"tables": [{
        "name": "stages", "title": "分学段",
        "columns": [{"key": "s", "label": "学段"}, {"key": "n", "label": "人数", "kind": "int"},
                    {"key": "r", "label": "录入率", "kind": "rate"}],
        "rows": [{"s": "小学", "n": 12345, "r": 0.4567}, {"s": "初中", "n": None, "r": None}]}]})
    assert table.rows == [["小学", "12,345", "45.7%"], ["初中", "—", "—"]]
    assert table.numeric == [False, True, True]
