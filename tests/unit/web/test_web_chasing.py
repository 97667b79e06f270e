"""催报 on the web: a county ticks a lagging school and reminds it; the school's administrator
sees the reminder on the home page until reading it."""

from __future__ import annotations

from tests.unit.web.fakes import SCHOOL, FakeBackends
from tests.unit.web.test_web_pages import SignIn, csrf_of


def test_a_county_reminds_a_lagging_school_which_sees_it_until_read(
        sign_in: SignIn, backends: FakeBackends) -> None:
    county = sign_in("county1")
    page = county.get("/chasing")
    assert page.status_code == 200 and "城关第一小学" in page.text and "40.0%" in page.text
    sent = county.post("/chasing/notices", data={
        "csrf_token": csrf_of(page.text), "level": "school", "unit_codes": SCHOOL,
        "message": "请于 5 月 10 日前完成录入"})
    assert sent.status_code == 303 and sent.headers["location"] == "/chasing?level=school"
    assert "请于 5 月 10 日前完成录入" in county.get("/chasing").text  # in the list sent

    county.post("/logout", data={"csrf_token": csrf_of(county.get("/chasing").text)})
    school = sign_in("school1")
    home = school.get("/school")
    assert "催报通知" in home.text and "请于 5 月 10 日前完成录入" in home.text
    notice_id = backends.notices[0]["notice_id"]
    read = school.post(f"/notices/{notice_id}/read", data={
        "csrf_token": csrf_of(home.text), "back": "/school"})
    assert read.status_code == 303 and read.headers["location"] == "/school"
    after = school.get("/school").text
    assert "已阅读催报通知" in after and "请于 5 月 10 日前完成录入" not in after


def test_a_reminder_without_a_ticked_unit_is_refused_on_the_page(
        sign_in: SignIn, backends: FakeBackends) -> None:
    county = sign_in("county1")
    answer = county.post("/chasing/notices", data={
        "csrf_token": csrf_of(county.get("/chasing").text), "level": "school"})
    assert answer.status_code == 303 and backends.notices == []
    assert "请勾选要催报的单位" in county.get(answer.headers["location"]).text


def test_a_school_administrator_has_no_chasing_page(sign_in: SignIn) -> None:
    assert sign_in("school1").get("/chasing").status_code == 403
