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
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import Shots
from tests.browser.seed import World, a_person
from tests.browser.stack import WebStack
from tests.browser.ui import (
    field_error,
    flashes,
    reload_until,
    row_of,
    sign_in,
    text_of,
)

REASON = "民族填写有误，请与户籍信息核对"


def wrong_check_digit(id_number: str) -> str:
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


async def fill_record(page: Page, record: dict[str, Any]) -> None:
    """Type a record into the add/edit form (README: labels of /school/teachers/new)."""
    await page.get_by_label("姓名", exact=True).fill(record["name"])
    await page.get_by_label("身份证号", exact=True).fill(record["id_number"])
    await page.get_by_label("性别", exact=True).select_option(
        label={"male": "男", "female": "女"}[record["gender"]])
    await page.get_by_label("出生日期", exact=True).fill(record["birth_date"])
    await page.get_by_label("民族", exact=True).fill(record["ethnicity"])
    await page.get_by_label("任职状态", exact=True).select_option(label="在本单位任职")
    await page.get_by_label("是否专任教师", exact=True).select_option(label="是")
    await page.get_by_label("参加工作日期", exact=True).fill(record["hire_date"])
    await page.get_by_label("任教学段", exact=True).select_option(label="小学 (含教学点)")


async def review_complete_count(page: Page) -> int:
    """The dashboard's 审核完成教师数 (reporting's findings), as shown to the province."""
    await page.goto("/dashboard")
    text = await text_of(page.locator("body"))
    found = re.search(r"审核完成教师数\D{0,20}?(\d+)", text)
    assert found, f"no 审核完成教师数 on the dashboard:\n{text}"
    return int(found.group(1))


async def decide(page: Page, teacher_id: str, decision: str, reason: str = "") -> None:
    """Open the record on /review/teachers/{id} (reloading until it awaits this reviewer's
    level: review follows intake's events a moment later) and approve or reject it."""
    button = page.get_by_role("button", name=decision, exact=True)

    async def awaits_me() -> bool:
        return await button.count() > 0

    await reload_until(page, f"/review/teachers/{teacher_id}", awaits_me,
                       f"the record awaiting a {decision} decision")
    if reason:
        await page.get_by_label("退回原因", exact=True).fill(reason)
    await button.click()
    await page.wait_for_load_state()
    await expect(page.locator(".flash.error")).to_have_count(0)


async def status_in_school_list(page: Page, name: str, wanted: str) -> None:
    row = row_of(page, "teachers", name)

    async def shown() -> bool:
        return await row.count() == 1 and wanted in await text_of(row)

    await reload_until(page, "/school", shown, f"{name}: {wanted}")


async def test_a_teacher_entered_with_an_error_is_fixed_rejected_fixed_again_approved_and_counted(
        new_page: Any, world: World, stack: WebStack, shots: Shots) -> None:
    school, county, province = await new_page(), await new_page(), await new_page()
    await sign_in(school, world.accounts["school_a"])
    await sign_in(county, world.accounts["county_a"])
    await sign_in(province, world.accounts["province"])
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

    # ... fixes the record (only the changed field is sent) and approves it again.
    await school.goto(f"/school/teachers/{teacher_id}")
    await expect(school.locator("body")).to_contain_text(REASON)
    await school.get_by_label("民族", exact=True).fill("回族")
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


async def _has_button(page: Page, name: str) -> bool:
    return await page.get_by_role("button", name=name, exact=True).count() > 0
