"""催报: the province opens a collection round, the county ticks its lagging school and
reminds it; the school's administrator sees the reminder on the home page and marks it read,
and the county sees that it was read."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World
from tests.browser.ui import sign_in


async def _until_listed(page: Page, text: str) -> None:
    """Reporting follows the school's events a moment after they happen: reload until then."""
    for _ in range(30):
        if await page.locator("#laggards tbody tr", has_text=text).count():
            return
        await page.wait_for_timeout(1000)
        await page.reload()
    await expect(page.locator("#laggards tbody tr", has_text=text)).to_be_visible()


async def test_a_county_reminds_its_lagging_school_which_reads_it_on_its_home_page(
        new_page: NewPage, world: World, shots: Shots) -> None:
    province = await new_page()
    await sign_in(province, world.accounts["province"])
    await province.goto("/chasing")
    await province.get_by_text("设置采集轮次", exact=True).click()
    await province.get_by_label("名称").fill("2017 年教师信息采集")
    await province.get_by_label("录入和确认截止").fill("2017-05-10")
    await province.get_by_label("审核上报截止").fill("2017-05-15")
    await province.get_by_role("button", name="设置", exact=True).click()
    await expect(province.get_by_role("status")).to_contain_text("已设置采集轮次")

    county = await new_page()
    await sign_in(county, world.accounts["county_a"])
    await county.goto("/chasing")
    await _until_listed(county, world.school_a_name)
    await expect(county.locator("#round")).to_contain_text("2017 年教师信息采集")
    await county.get_by_label(f"催报 {world.school_a_name}").check()
    await shots(county, "chasing-laggards")
    await county.get_by_role("button", name="发送催报通知").click()
    await expect(county.get_by_role("status")).to_contain_text("已向 1 个单位发送催报通知")

    school = await new_page()
    await sign_in(school, world.accounts["school_a"])
    await school.goto("/school")
    banner = school.locator(".notices .notice").first
    await expect(banner).to_contain_text("5 月 10 日前")
    await shots(school, "chasing-banner")
    await banner.get_by_role("button", name="已阅").click()
    await expect(school.get_by_role("status")).to_contain_text("已阅读催报通知")
    # the reading reaches the banner through reporting's projection, a moment later
    for _ in range(15):
        if not await school.locator(".notices").count():
            break
        await school.wait_for_timeout(1000)
        await school.goto("/school")
    await expect(school.locator(".notices")).to_have_count(0)

    await county.goto("/chasing")
    row = county.locator("#sent tbody tr", has_text=world.school_a_name).first
    for _ in range(15):
        if "未阅" not in (await row.inner_text()):
            break
        await county.wait_for_timeout(1000)
        await county.goto("/chasing")
    await expect(row).not_to_contain_text("未阅")
