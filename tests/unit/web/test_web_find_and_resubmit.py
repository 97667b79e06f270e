"""查找教师 and 重新提交 on the web: the query is posted (never in the address), hits link to
what the role may do, transfers name the teacher by ID number, a rejected record goes back
unchanged with a note."""

from __future__ import annotations

from tests.unit.web.fakes import FakeBackends
from tests.unit.web.test_web_pages import SignIn, csrf_of

OTHER_SCHOOL = "6201020099"


def test_a_school_finds_a_teacher_of_another_school_by_id_number_and_is_offered_the_transfer(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("周杰", school=OTHER_SCHOOL)
    number = backends.teachers[teacher_id]["id_number"]
    client = sign_in("school1")
    page = client.get("/search")
    found = client.post("/search", data={"csrf_token": csrf_of(page.text), "q": number})

    assert found.status_code == 200
    assert "周杰" in found.text and f"/school/teachers/{teacher_id}/transfer" in found.text
    assert "/search?" not in found.text  # paging posts the query too


def test_a_name_search_shows_only_the_callers_school(sign_in: SignIn,
                                                     backends: FakeBackends) -> None:
    backends.add_teacher("王一")
    backends.add_teacher("王二", school=OTHER_SCHOOL)
    client = sign_in("school1")
    found = client.post("/search", data={"csrf_token": csrf_of(client.get("/search").text),
                                         "q": "王"})
    assert "王一" in found.text and "王二" not in found.text


def test_a_malformed_id_number_is_shown_at_the_field(sign_in: SignIn,
                                                     backends: FakeBackends) -> None:
    client = sign_in("county1")
    answer = client.post("/search", data={"csrf_token": csrf_of(client.get("/search").text),
                                          "q": "6201021990"})
    assert answer.status_code == 422 and 'id="error-q"' in answer.text


def test_a_search_without_the_forms_csrf_token_is_refused(sign_in: SignIn,
                                                          backends: FakeBackends) -> None:
    backends.add_teacher("王一")
    answer = sign_in("school1").post("/search", data={"q": "王"})
    assert answer.status_code == 403 and "王一" not in answer.text


def test_a_transfer_can_start_from_the_teachers_id_number(sign_in: SignIn,
                                                           backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("赵敏", school=OTHER_SCHOOL)
    number = backends.teachers[teacher_id]["id_number"]
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/transfer").text)

    moved = client.post("/school/transfer", data={"csrf_token": csrf, "teacher_id": number})
    nobody = client.post("/school/transfer", data={"csrf_token": csrf,
                                                   "teacher_id": number[:-1] + "0"
                                                   if number[-1] != "0" else number[:-1] + "1"})

    assert moved.status_code == 303
    assert moved.headers["location"] == f"/school/teachers/{teacher_id}/transfer"
    assert nobody.status_code == 422 and "身份证号" in nobody.text


def test_a_return_to_post_finds_the_person_who_left_by_id_number(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("孙丽", school=OTHER_SCHOOL)
    backends.teachers[teacher_id].update(has_left=True, in_post=False)
    number = backends.teachers[teacher_id]["id_number"]
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/return-to-post").text)

    done = client.post("/school/return-to-post", data={
        "csrf_token": csrf, "teacher_id": number, "school_code": "6201020001"},
        files={"proof": ("proof.pdf", b"%PDF-1.4 x", "application/pdf")})

    assert done.status_code == 303
    assert backends.transfers[-1]["teacher_id"] == teacher_id
    assert backends.transfers[-1]["kind"] == "return-to-post"


def test_the_school_page_shows_a_hundred_teachers_a_page_and_finds_by_name(
        sign_in: SignIn, backends: FakeBackends) -> None:
    for n in range(101):
        backends.add_teacher(f"教师{n:03d}", status=None)
    backends.add_teacher("欧阳娜娜", status=None)
    client = sign_in("school1")

    first, second = client.get("/school"), client.get("/school?page=1")
    by_name = client.get("/school", params={"name": "欧阳"})

    assert first.text.count('<tr class="status-') == 100 and "下一页" in first.text
    assert second.text.count('<tr class="status-') == 2 and "上一页" in second.text
    assert by_name.text.count('<tr class="status-') == 1 and "欧阳娜娜" in by_name.text


def test_a_rejected_teacher_is_resubmitted_unchanged_with_a_note(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("吴静", status="rejected", reason="学历存疑")
    client = sign_in("school1")
    page = client.get(f"/school/teachers/{teacher_id}")
    assert "不修改，重新提交" in page.text
    url = f"/school/teachers/{teacher_id}/resubmit"

    empty = client.post(url, data={"csrf_token": csrf_of(page.text), "record_version": "1",
                                   "note": " "})
    done = client.post(url, data={"csrf_token": csrf_of(page.text), "record_version": "1",
                                  "note": "已核对毕业证原件"})

    assert empty.status_code == 422 and 'id="error-note"' in empty.text
    assert done.status_code == 303
    assert backends.decisions == [{"teacher_id": teacher_id, "decision": "resubmit",
                                   "record_version": 1, "note": "已核对毕业证原件"}]
    assert "不修改，重新提交" not in client.get(f"/school/teachers/{teacher_id}").text


def test_the_county_records_a_spot_check_result_naming_the_wrong_field(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("郑爽", status="school_approved")
    client = sign_in("county1")
    url = "/review/spot-checks/" + "c" * 32
    page = client.get(url)
    assert page.status_code == 200 and "郑爽" in page.text and "未登记" in page.text

    unnamed = client.post(url + "/results", data={
        "csrf_token": csrf_of(page.text), "teacher_id": teacher_id, "outcome": "error_found"})
    done = client.post(url + "/results", data={
        "csrf_token": csrf_of(page.text), "teacher_id": teacher_id, "outcome": "error_found",
        "fields": ["highest_education", "not_a_field"], "note": "与毕业证不符"})

    assert unnamed.status_code == 422 and "请勾选发现错误的信息项" in unnamed.text
    assert done.status_code == 303
    assert backends.results[teacher_id]["fields"] == ["highest_education"]
    assert "发现错误：最高学历（与毕业证不符）" in client.get(url).text
    rates = client.get("/review/spot-checks?county_code=620102").text
    assert "抽查差错率" in rates and "100.0%" in rates


def test_data_quality_shows_a_county_its_schools_and_suspected_duplicates(
        sign_in: SignIn, backends: FakeBackends) -> None:
    backends.add_teacher("王芳")
    county = sign_in("county1").get("/quality")
    assert county.status_code == 200
    assert "城关第一小学" in county.text and "城关第二小学" in county.text
    assert "退回率 25.0%" in county.text and "50.0%" in county.text


def test_the_province_sees_data_quality_per_county_and_a_school_is_refused(
        sign_in: SignIn, backends: FakeBackends) -> None:
    province = sign_in("prov1").get("/quality")
    assert province.status_code == 200 and 'href="/quality?county_code=620102"' in province.text
    school = sign_in("school1").get("/quality")
    assert school.status_code == 403
