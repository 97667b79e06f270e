"""数据统计 as charts: province staff open the statistics page and see the entry rates per city
and per county as bars, progress over time as a line and the stage table as bars, drawn in the
page (SVG) with Chinese words, by the ECharts the web front ships; with JavaScript off the
same page shows the tables and no empty chart boxes."""

from __future__ import annotations

from playwright.async_api import Browser, ConsoleMessage, Page, expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World
from tests.browser.stack import WebStack
from tests.browser.ui import sign_in

CHARTS = {"chart-cities": ("分市州录入率", "兰州市", "天水市", "学校录入率"),
          "chart-counties": ("分县区录入率", "城关区", "秦州区", "教职工录入率"),
          "chart-stages": ("分学段录入情况", "小学", "教职工数·系统录入"),
          "chart-progress": ("录入进度", "录入教职工数", "审核完成")}


async def _words_of(page: Page, chart_id: str) -> str:
    texts = await page.locator(f"#{chart_id} svg text").all_text_contents()
    return " ".join(texts)


async def _until_entered(page: Page) -> None:
    """Reporting follows the seeded teachers a moment after they are entered: reload until
    the progress table's last day counts entered staff."""
    today = page.locator("#report-progress tbody tr").last.locator("td").nth(2)
    for _ in range(30):
        if (await today.inner_text()).strip() not in ("", "0", "—"):
            return
        await page.wait_for_timeout(1000)
        await page.reload()
    await expect(today).not_to_have_text("0")


async def _top(page: Page, selector: str) -> float:
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not on the page"
    return box["y"]


async def test_province_staff_see_the_statistics_drawn_as_charts_with_chinese_labels(
        new_page: NewPage, world: World, shots: Shots) -> None:
    page = await new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await sign_in(page, world.accounts["province"])
    await page.goto("/dashboard")
    await _until_entered(page)
    for chart_id, words in CHARTS.items():
        box = page.locator(f"#{chart_id}")
        await expect(box).to_be_visible()
        await expect(box).to_have_attribute("data-drawn", "true")
        assert await box.locator("svg path").count() > 0, f"{chart_id} drew nothing"
        said = await _words_of(page, chart_id)
        assert all(w in said for w in words), f"{chart_id} says {said!r}"
    # each chart sits above the table it draws, which stays
    await expect(page.locator("#report-stages")).to_be_visible()
    await expect(page.locator("#report-progress tbody tr")).to_have_count(8)
    assert await _top(page, "#chart-stages") < await _top(page, "#report-stages")
    assert problems == [], problems  # no CSP refusal, no script error
    wider: int = await page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth")
    assert wider <= 0, "the charts make the page scroll sideways"
    await page.locator("#chart-progress").scroll_into_view_if_needed()
    await shots(page, "dashboard-charts")
    await page.locator("#chart-stages").scroll_into_view_if_needed()
    await shots(page, "dashboard-charts-stages")


async def test_without_javascript_the_page_shows_its_tables_and_no_empty_chart(
        browser: Browser, stack: WebStack, world: World) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="zh-CN",
                                        base_url=stack.web_url)
    try:
        page = await context.new_page()
        await sign_in(page, world.accounts["province"])
        await page.goto("/dashboard")
        await expect(page.locator("#report-stages")).to_be_visible()
        await expect(page.locator("#report-progress")).to_be_visible()
        for chart_id in CHARTS:
            await expect(page.locator(f"#{chart_id}")).to_be_hidden()
    finally:
        await context.close()
