"""The main journey, in a real browser, as the issue tells it: a school administrator enters a
teacher with a mistake, sees it next to the field, fixes it and saves; the school approves; the
county reviewer rejects it with a reason, which the school administrator then sees; the school
fixes the record and approves it again, the county approves it; and the province's dashboard
counts it as 审核完成.

Four people, four browser contexts (each its own cookie), all on the web front only.
"""

from __future__ import annotations

import random
import re

from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World, a_person, wrong_check_digit
from tests.browser.ui import (
    decide,
    field_error,
    fill_record,
    flashes,
    reload_until,
    row_of,
    sign_in,
    status_in_school_list,
    text_of,
)

REASON = "民族填写有误，请与户籍信息核对"


async def review_complete_count(page: Page) -> int:
    """The 审核完成教师数 of the dashboard the page shows (reporting's headline figures)."""
    text = await text_of(page.locator("body"))
    found = re.search(r"审核完成教师数[^\d]{0,20}?(\d[\d,]*)", text)  # shown as 1,234
    assert found, f"no 审核完成教师数 on the dashboard:\n{text}"
    return int(found.group(1).replace(",", ""))


async def test_a_teacher_entered_with_an_error_is_fixed_rejected_fixed_again_approved_and_counted(
        new_page: NewPage, world: World, shots: Shots) -> None:
    school, county, province = await new_page(), await new_page(), await new_page()
    await sign_in(school, world.accounts["school_a"])
    await sign_in(county, world.accounts["county_a"])
    await sign_in(province, world.accounts["province"])
    await province.goto("/dashboard")
    counted_before = await review_complete_count(province)
    person = a_person(random.Random())

    # The school administrator types a wrong check digit: the error is next to the field and
    # what was typed is kept.
    await school.goto("/school/teachers/new")
    await fill_record(school, {**person, "id_number": wrong_check_digit(person["id_number"])})
    await school.get_by_role("button", name="保存").click()
    id_input = school.get_by_label("身份证号", exact=True)
    await expect(field_error(school, "id_number")).to_be_visible()
    await expect(id_input).to_have_attribute("aria-invalid", "true")
    await expect(id_input).to_have_attribute("aria-describedby", "error-id_number")
    await expect(school.get_by_label("姓名", exact=True)).to_have_value(person["name"])
    await expect(field_error(school, "name")).to_have_count(0)
    await shots(school, "school-teacher-new-error", full_page=True)

    # ... fixes it and saves: the teacher is registered and submitted for review.
    await id_input.fill(person["id_number"])
    await school.get_by_role("button", name="保存").click()
    await expect(school).to_have_url(re.compile(r"/school/teachers/[0-9a-f-]{36}$"))
    await expect(flashes(school)).to_contain_text(f"已新增教师 {person['name']}")
    teacher_id = school.url.rsplit("/", 1)[1]
    await status_in_school_list(school, person["name"], "待学校审核")

    # The school approves (学校初审); the county reviewer rejects, and must give a reason.
    await decide(school, teacher_id, "通过")
    await reload_until(county, f"/review/teachers/{teacher_id}",
                       lambda: _has_button(county, "退回"), "the record awaiting the county")
    await county.get_by_role("button", name="退回", exact=True).click()
    await expect(field_error(county, "reason")).to_contain_text("退回须填写原因")
    await shots(county, "review-teacher-reject-needs-reason", full_page=True)
    await decide(county, teacher_id, "退回", REASON)

    # The school administrator sees the county's reason next to the teacher.
    await status_in_school_list(school, person["name"], "已退回")
    await expect(row_of(school, "teachers", person["name"])).to_contain_text(
        f"县级审核：{REASON}")
    await shots(school, "school-teachers-rejected")

    # ... fixes the record (a slip on the way is shown next to the field) and approves it
    # again.
    await school.goto(f"/school/teachers/{teacher_id}")
    await expect(school.locator("body")).to_contain_text(REASON)
    ethnicity = school.get_by_label("民族", exact=True)
    await ethnicity.fill("回民")  # not a name of GB/T 3304: refused next to the field
    await school.get_by_role("button", name="保存").click()
    await expect(field_error(school, "ethnicity")).to_be_visible()
    await expect(ethnicity).to_have_value("回民")
    await ethnicity.fill("回族")
    await school.get_by_role("button", name="保存").click()
    await expect(flashes(school)).to_contain_text("已保存")
    await decide(school, teacher_id, "通过")

    # The county approves the corrected version: 审核完成.
    await decide(county, teacher_id, "通过")
    await status_in_school_list(school, person["name"], "审核完成")

    # The province's dashboard counts it.
    async def counted() -> bool:
        return await review_complete_count(province) == counted_before + 1

    await reload_until(province, "/dashboard", counted, "the teacher counted as 审核完成")

    # A later change goes back to review, and the county sees exactly what changed since the
    # approval: one field, its old and its new value.
    await school.goto(f"/school/teachers/{teacher_id}")
    await school.get_by_label("最高学历", exact=True).fill("本科")
    await school.get_by_role("button", name="保存").click()
    await expect(flashes(school)).to_contain_text("已保存")
    diff = county.locator("table#diff tbody tr")

    async def diff_shown() -> bool:
        return await diff.count() > 0

    await reload_until(county, f"/review/teachers/{teacher_id}", diff_shown,
                       "the change since the county's approval")
    await expect(diff).to_have_count(1)
    await expect(diff.locator("td")).to_have_text(["最高学历", "", "本科"])
    await shots(county, "review-teacher-diff", full_page=True)


async def _has_button(page: Page, name: str) -> bool:
    return await page.get_by_role("button", name=name, exact=True).count() > 0
