"""The pages, driven like a browser against fake backends: sign-in, the school's teachers, the
teacher form's field errors, review decisions, imports, orgsync, the dashboard."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from uuid import uuid4

from fastapi.testclient import TestClient

from tests.unit.web.conftest import signin_token
from tests.unit.web.fakes import SCHOOL, FakeBackends, make_id_number, token, wrong_check_digit

SignIn = Callable[[str], TestClient]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def teacher_form(**overrides: str) -> dict[str, str]:
    form = {"name": "李华", "id_number": make_id_number(7), "gender": "female",
            "birth_date": "1990-01-02", "ethnicity": "汉族", "post_status": "in_post",
            "is_fulltime_teacher": "true", "hire_date": "2012-09-01", "political_status": "",
            "stage_taught": "primary", "highest_education": "", "professional_title": "",
            "teacher_qualification": ""}
    form.update(overrides)
    return form


# ------------------------------------------------------------------------------ sign-in


def test_signing_in_keeps_the_token_in_an_httponly_strict_cookie_and_goes_home_by_role(
        client: TestClient) -> None:
    answer = client.post("/login", data={"username": "school1", "password": "right-password-1",
                                         "signin_token": signin_token(client)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/school"
    cookie = answer.headers["set-cookie"]
    assert "tmis_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_wrong_password_shows_intakes_reason_in_chinese(client: TestClient) -> None:
    answer = client.post("/login", data={"username": "school1", "password": "nope",
                                         "signin_token": signin_token(client)})
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text
    assert "tmis_session" not in answer.headers.get("set-cookie", "")


def test_a_page_without_a_session_redirects_to_login_and_back(client: TestClient) -> None:
    answer = client.get("/school")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?msg=required&next=/school"
    assert "请先登录" in client.get(answer.headers["location"]).text


def test_an_expired_token_is_no_session(client: TestClient) -> None:
    client.cookies.set("tmis_session", token("school_admin", ttl=-10, school_code=SCHOOL))
    answer = client.get("/school")
    assert answer.headers["location"].startswith("/login?msg=expired")


def test_a_token_the_backend_refuses_sends_the_user_to_sign_in_again(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("school1")
    backends.revoked.add(backends.accounts["school1"][1])
    answer = client.get("/school")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?msg=expired")


def test_a_sign_in_posted_from_another_site_is_refused(client: TestClient,
                                                       backends: FakeBackends) -> None:
    answer = client.post("/login", data={"username": "school1", "password": "right-password-1",
                                         "signin_token": "forged"})
    assert answer.status_code == 403
    assert "登录页面已过期" in answer.text
    assert not [r for r in backends.requests if r.url.path == "/v1/auth/login"]


def test_login_never_redirects_to_another_site(client: TestClient) -> None:
    answer = client.post("/login", data={"username": "school1", "password": "right-password-1",
                                         "next": "//evil.example/",
                                         "signin_token": signin_token(client)})
    assert answer.headers["location"] == "/school"


def test_logout_clears_the_session(sign_in: SignIn) -> None:
    client = sign_in("school1")
    answer = client.post("/logout", data={"csrf_token": csrf_of(client.get("/school").text)})
    assert answer.headers["location"] == "/login?msg=logout"
    assert 'tmis_session=""' in answer.headers["set-cookie"]


def test_the_navigation_shows_only_what_the_role_may_do(sign_in: SignIn) -> None:
    school_page = sign_in("school1").get("/school").text
    assert "新增教师" in school_page and "撤并调整" not in school_page
    dashboard = sign_in("prov1").get("/dashboard").text
    assert "撤并调整" in dashboard and "新增教师" not in dashboard


# ------------------------------------------------------------------------------ school


def test_the_school_page_lists_teachers_with_review_status_and_rejection_reason(
        sign_in: SignIn, backends: FakeBackends) -> None:
    backends.add_teacher("王芳", status="rejected", reason="参加工作日期有误")
    backends.add_teacher("张伟", status="county_approved")
    page = sign_in("school1").get("/school").text
    assert "王芳" in page and "已退回" in page and "县级审核：参加工作日期有误" in page
    assert "张伟" in page and "审核完成" in page


def test_a_wrong_id_number_is_shown_next_to_its_field_and_the_typed_values_are_kept(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/teachers/new").text)
    bad = wrong_check_digit(make_id_number(7))
    answer = client.post("/school/teachers/new",
                         data={**teacher_form(id_number=bad), "csrf_token": csrf})
    assert answer.status_code == 422
    error = re.search(r'<p class="field-error" id="error-id_number">([^<]+)</p>', answer.text)
    assert error and error.group(1).startswith("身份证号无效")
    assert 'aria-describedby="error-id_number"' in answer.text
    assert f'value="{bad}"' in answer.text and 'value="李华"' in answer.text
    assert len(backends.teachers) == 0


def test_a_missing_required_field_says_so_next_to_it(sign_in: SignIn) -> None:
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/teachers/new").text)
    answer = client.post("/school/teachers/new",
                         data={**teacher_form(ethnicity=""), "csrf_token": csrf})
    assert re.search(r'id="error-ethnicity">必填<', answer.text)


def test_a_valid_teacher_is_registered_and_the_page_says_so(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/teachers/new").text)
    answer = client.post("/school/teachers/new", data={**teacher_form(), "csrf_token": csrf})
    assert answer.status_code == 303
    (teacher_id,) = backends.teachers
    assert answer.headers["location"] == f"/school/teachers/{teacher_id}"
    assert "已新增教师 李华" in client.get(answer.headers["location"]).text


def test_a_form_without_the_sessions_csrf_token_is_refused(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("school1")
    answer = client.post("/school/teachers/new",
                         data={**teacher_form(), "csrf_token": "0" * 64})
    assert answer.status_code == 403
    assert "请求已过期" in answer.text
    assert not backends.teachers


def test_editing_sends_only_the_changed_fields_with_the_version_read(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("王芳", status="rejected", reason="民族有误")
    client = sign_in("school1")
    page = client.get(f"/school/teachers/{teacher_id}").text
    assert "县级审核：民族有误" in page
    stored = backends.teachers[teacher_id]
    form = teacher_form(name="王芳", id_number=stored["id_number"], ethnicity="回族",
                        stage_taught="primary")
    answer = client.post(f"/school/teachers/{teacher_id}",
                         data={**form, "expected_version": "1", "csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert backends.patches == [{"expected_version": 1, "record": {"ethnicity": "回族"}}]


def test_a_teacher_of_another_school_is_refused_with_a_chinese_message(
        sign_in: SignIn, backends: FakeBackends) -> None:
    other = backends.add_teacher("赵敏", school="6201030001")
    answer = sign_in("school1").get(f"/school/teachers/{other}")
    assert answer.status_code == 403
    assert "无权操作：超出您的角色或所辖地区范围" in answer.text


def test_an_import_shows_the_per_row_report(sign_in: SignIn) -> None:
    client = sign_in("school1")
    csrf = csrf_of(client.get("/school/import").text)
    answer = client.post("/school/import", data={"csrf_token": csrf},
                         files={"file": ("teachers.csv", b"a,b\n1,2\n", "text/csv")})
    assert answer.status_code == 200
    assert 'id="import-summary"' in answer.text
    problems = answer.text[answer.text.index('id="import-problems"'):]
    assert "<td>4</td><td>身份证号</td><td>id_number</td>" in problems


def test_the_import_template_is_passed_on_as_a_download(sign_in: SignIn) -> None:
    answer = sign_in("school1").get("/school/import/template.csv")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == "attachment; filename=teachers.csv"


def test_a_backend_that_does_not_answer_is_shown_as_unavailable(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("school1")
    backends.down.add("intake")
    answer = client.get("/school")
    assert answer.status_code == 502
    assert "intake 服务暂不可用" in answer.text


# ------------------------------------------------------------------------------ review


def test_the_queue_shows_the_county_level_oldest_first(
        sign_in: SignIn, backends: FakeBackends) -> None:
    backends.add_teacher("甲", status="school_approved")
    backends.add_teacher("乙", status="submitted")
    page = sign_in("county1").get("/review").text
    assert "甲" in page and "乙" not in page
    assert 'aria-label="选择 甲"' in page


def test_rejecting_without_a_reason_asks_for_one_and_decides_nothing(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("甲", status="school_approved")
    client = sign_in("county1")
    csrf = csrf_of(client.get("/review").text)
    answer = client.post("/review", data={"csrf_token": csrf, "decision": "reject",
                                          "selected": f"{teacher_id}:1", "reason": ""})
    assert answer.status_code == 422
    assert 'id="error-reason">退回须填写原因<' in answer.text
    assert backends.decisions == []


def test_bulk_decisions_go_to_review_in_one_request_and_are_summarised(
        sign_in: SignIn, backends: FakeBackends) -> None:
    first = backends.add_teacher("甲", status="school_approved")
    second = backends.add_teacher("乙", status="school_approved")
    client = sign_in("county1")
    csrf = csrf_of(client.get("/review").text)
    answer = client.post("/review", data={"csrf_token": csrf, "decision": "approve",
                                          "selected": [f"{first}:1", f"{second}:1"]})
    assert answer.status_code == 303
    assert [(d["teacher_id"], d["decision"]) for d in backends.decisions] == [
        (first, "approve"), (second, "approve")]
    assert "通过 2 条，退回 0 条，失败 0 条" in client.get("/review").text


def test_a_record_shows_its_checks_its_diff_and_its_proof_inline(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("甲", status="school_approved")
    page = sign_in("county1").get(f"/review/teachers/{teacher_id}").text
    assert "性别与身份证号一致" in page and "未通过" in page and "硬性" in page
    assert "<td>参加工作日期</td><td>2011-09-01</td><td>2012-09-01</td>" in page
    assert f'<iframe class="proof" title="证明材料" src="/documents/{"a" * 64}">' in page


def test_a_single_rejection_carries_the_reason_and_the_version_read(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("甲", status="school_approved")
    client = sign_in("county1")
    csrf = csrf_of(client.get(f"/review/teachers/{teacher_id}").text)
    answer = client.post(f"/review/teachers/{teacher_id}", data={
        "csrf_token": csrf, "decision": "reject", "record_version": "1",
        "reason": "民族与户籍不符", "comment": ""})
    assert answer.status_code == 303
    assert backends.decisions == [{"teacher_id": teacher_id, "record_version": 1,
                                   "decision": "reject", "reason": "民族与户籍不符",
                                   "comment": ""}]


def test_the_proof_document_is_proxied_with_the_users_token(
        sign_in: SignIn, backends: FakeBackends) -> None:
    answer = sign_in("county1").get(f"/documents/{'a' * 64}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    sent = backends.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {backends.accounts['county1'][1]}"


# ------------------------------------------------------------------------------ province


def test_the_dashboard_lays_out_reportings_reports(sign_in: SignIn) -> None:
    page = sign_in("prov1").get("/dashboard?as_of=2026-11-25").text
    assert 'id="report-stages"' in page
    assert '<td class="n">1,234</td><td class="n">50.0%</td>' in page
    assert "录入教职工数" in page


def test_the_dashboard_carries_its_charts_figures_above_the_tables_it_keeps(
        sign_in: SignIn) -> None:
    page = sign_in("prov1").get("/dashboard?as_of=2026-11-25").text
    for chart in ("chart-progress", "chart-stages", "chart-cities", "chart-counties"):
        assert f'data-chart="{chart}"' in page
    assert page.index('data-chart="chart-stages"') < page.index('id="report-stages"')
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer>' in page
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      re.S)
    assert found, "the page has no chart data block"
    charts = json.loads(found.group(1))
    assert charts["chart-progress"]["labels"] == ["2026-11-18", "2026-11-25"]
    assert charts["chart-progress"]["series"][0] == {"name": "录入教职工数", "axis": 0,
                                                     "values": [1000, 1234]}
    assert charts["chart-cities"]["title"] == "分市州录入率"
    assert '<td class="n">1,234</td><td class="n">1</td><td class="n">50.0%</td>' in page


def test_the_dashboard_scripts_come_from_the_site_itself(client: TestClient) -> None:
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    script = client.get("/static/vendor/echarts/echarts.min.js")
    assert script.status_code == 200 and 't.version="6.1.0"' in script.text
    assert "data-chart" in client.get("/static/charts.js").text


def test_an_orgsync_plan_is_shown_and_applying_sends_the_same_batch(
        sign_in: SignIn, backends: FakeBackends) -> None:
    client = sign_in("prov1")
    csrf = csrf_of(client.get("/orgsync").text)
    batch = b"batch_id,effective_date,op,school_code\n2026Q4-01,2026-12-31,merge,6201020009\n"
    plan = client.post("/orgsync", data={"csrf_token": csrf},
                       files={"file": ("q4.csv", batch, "text/csv")})
    assert 'id="plan-changes"' in plan.text and "合并" in plan.text
    hidden = re.search(r'name="batch_b64" value="([^"]+)"', plan.text)
    assert hidden
    applied = client.post("/orgsync/apply", data={"csrf_token": csrf_of(plan.text),
                                                  "batch_b64": hidden.group(1),
                                                  "filename": "q4.csv"})
    assert "批次 2026Q4-01 已应用" in applied.text
    assert len(backends.applied) == 1 and batch in backends.applied[0]


def test_a_school_admin_cannot_reach_the_orgsync_pages(sign_in: SignIn) -> None:
    answer = sign_in("school1").get("/orgsync")
    assert answer.status_code == 403


def test_healthz_says_which_backends_answer(client: TestClient, backends: FakeBackends) -> None:
    backends.down.add("orgsync")
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["peers"] == {"intake": True, "review": True, "orgsync": False,
                             "reporting": True}


def test_metrics_count_the_pages_served(client: TestClient) -> None:
    client.get("/login")
    text = client.get("/metrics").text
    assert 'service="web"' in text and 'route="/login"' in text


def test_pages_are_chinese_and_carry_security_headers(client: TestClient) -> None:
    answer = client.get("/login")
    assert '<html lang="zh-CN">' in answer.text
    assert '<label for="username">用户名</label>' in answer.text
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_the_school_list_stays_usable_when_review_does_not_answer(
        sign_in: SignIn, backends: FakeBackends) -> None:
    backends.add_teacher("王芳")
    client = sign_in("school1")
    backends.down.add("review")
    answer = client.get("/school")
    assert answer.status_code == 200
    assert "王芳" in answer.text and "审核状态暂不可用" in answer.text


def test_a_transfer_needs_its_proof_and_then_goes_to_intake_with_the_documents_hash(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("赵敏")
    client = sign_in("school1")
    url = f"/school/teachers/{teacher_id}/transfer"
    csrf = csrf_of(client.get(url).text)
    missing = client.post(url, data={"csrf_token": csrf, "to_school_code": SCHOOL})
    assert 'id="error-proof">请上传证明材料<' in missing.text
    wrong = client.post(url, data={"csrf_token": csrf, "to_school_code": SCHOOL},
                        files={"proof": ("proof.txt", b"hello", "text/plain")})
    assert "证明材料须为 PDF、JPEG 或 PNG 文件" in wrong.text
    assert backends.transfers == []
    done = client.post(url, data={"csrf_token": csrf, "to_school_code": SCHOOL},
                       files={"proof": ("proof.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert done.status_code == 303 and done.headers["location"] == "/school"
    assert backends.transfers == [{"teacher_id": teacher_id, "kind": "transfer",
                                   "to_school_code": SCHOOL, "proof_sha256": "b" * 64}]


def test_the_school_answers_a_teachers_flag_from_its_list(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("王芳")
    flag_id = str(uuid4())
    backends.flags.append({"flag_id": flag_id, "teacher_id": teacher_id, "school_code": SCHOOL,
                           "field": "highest_education", "comment": "应为本科",
                           "record_version": 1, "created_at": "2026-11-25T10:00:00+08:00",
                           "open": True, "resolved_at": None, "resolution": ""})
    client = sign_in("school1")
    page = client.get("/school").text
    assert "<td>最高学历</td><td>应为本科</td>" in page
    answer = client.post(f"/school/flags/{flag_id}/resolve",
                         data={"csrf_token": csrf_of(page), "note": "已更正"})
    assert answer.status_code == 303
    assert backends.flags[0]["open"] is False and backends.flags[0]["resolution"] == "已更正"
    assert "已处理教师反馈" in client.get("/school").text


def test_a_teachers_credential_is_issued_from_the_teacher_page_and_shown_once(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("王芳")
    client = sign_in("school1")
    page = client.get(f"/school/teachers/{teacher_id}").text
    answer = client.post(f"/school/teachers/{teacher_id}/credential",
                         data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 200
    assert '<p class="credential mono" id="credential">7kq2-m9xp-4hte-wr8n</p>' in answer.text


def test_a_review_queue_page_offset_beyond_int64_is_a_wrong_address_not_a_server_error(sign_in):
    # the web front answers a malformed query as a wrong address (its rule for every page)
    answer = sign_in("county1").get(f"/review?offset={2**63}")
    assert answer.status_code == 404 and "地址有误" in answer.text
