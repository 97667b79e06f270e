"""A school administrator downloads the import template from the page, fills it in (two good
rows and one with a wrong check digit) and uploads it: progress shows while it runs, then the
per-row report, with the bad row's number and field; the good rows are in the school's list."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World, a_person, wrong_check_digit
from tests.browser.ui import download, figures, held_back, row_of, sign_in


def template_row(record: dict[str, Any]) -> dict[str, str]:
    """A record as the template's Chinese columns (headers without their * marks)."""
    return {
        "姓名": record["name"], "身份证号": record["id_number"],
        "性别": {"male": "男", "female": "女"}[record["gender"]],
        "出生日期": record["birth_date"], "民族": record["ethnicity"], "政治面貌": "群众",
        "岗位状态": "在本单位任职", "是否专任教师": "是", "任教学段": "小学",
        "参加工作日期": record["hire_date"], "最高学历": "本科", "专业技术职务": "二级教师",
        "教师资格证": "小学教师资格",
    }


def filled_template(template: str, records: list[dict[str, Any]]) -> bytes:
    header = next(csv.reader(io.StringIO(template.lstrip("\ufeff"))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)  # the example row is left out
    for record in records:
        cells = template_row(record)
        writer.writerow([cells.get(h.rstrip("*"), "") for h in header])
    return out.getvalue().encode("utf-8-sig")


async def test_an_uploaded_template_shows_a_per_row_report_and_adds_the_good_rows(
        new_page: NewPage, world: World, shots: Shots) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["school_a"])
    await page.goto("/school/import")
    template = (await download(page, "下载导入模板 (CSV)")).decode("utf-8-sig")
    assert "身份证号" in template

    rng = random.Random()
    good, bad, also_good = a_person(rng), a_person(rng), a_person(rng)
    bad = {**bad, "id_number": wrong_check_digit(bad["id_number"])}
    await page.get_by_label("导入文件", exact=True).set_input_files({
        "name": "本校教师.csv", "mimeType": "text/csv",
        "buffer": filled_template(template, [good, bad, also_good])})
    async with held_back(page, "**/school/import"):  # a long import: progress shows
        await page.get_by_role("button", name="上传").click()
        await expect(page.get_by_role("progressbar")).to_be_visible()
        await expect(page.get_by_role("button", name="上传")).to_be_disabled()

    summary = page.locator("table#import-summary")
    await expect(summary).to_be_visible(timeout=60_000)
    counts = await figures(summary)
    assert (counts["读取行数"], counts["新增"], counts["失败"]) == ("3", "2", "1"), counts
    problem = page.locator("table#import-problems tbody tr")
    await expect(problem).to_have_count(1)
    await expect(problem.locator("td").first).to_have_text("3")  # the header is row 1
    await expect(problem).to_contain_text("身份证号")
    await shots(page, "school-import-report", full_page=True)

    await page.goto("/school")
    await expect(row_of(page, "teachers", good["name"])).to_have_count(1)
    await expect(row_of(page, "teachers", also_good["name"])).to_have_count(1)
