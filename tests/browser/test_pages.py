"""Every page opens for its role, fits a 1366x768 laptop without sideways scrolling, and is
photographed (docs/screenshots/ with `make screenshots`); the main pages also fit a 390px phone.

A page "fits" when the document is no wider than the window: a table may scroll inside its own
box, the page itself may not.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World
from tests.browser.ui import sign_in, sign_in_as_teacher

# screenshot name -> (who signs in, path, a text the page must show). "{teacher}" is a seeded
# teacher of school A, "{school}" school A's code.
PAGES: dict[str, tuple[str, str, str]] = {
    "login": ("", "/login", "登录"),
    "login-teacher": ("", "/login/teacher", "登录凭证"),
    "school-teachers": ("school_a", "/school", "本校教师"),
    "school-teacher-new": ("school_a", "/school/teachers/new", "保存"),
    "school-teacher-edit": ("school_a", "/school/teachers/{teacher}", "审核状态"),
    "school-transfer": ("school_a", "/school/transfer", "教师编号"),
    "school-transfer-proof": ("school_a", "/school/teachers/{teacher}/transfer", "证明材料"),
    "school-return-to-post": ("school_a", "/school/return-to-post", "证明材料"),
    "school-import": ("school_a", "/school/import", "下载导入模板"),
    "school-confirmation": ("school_a", "/school/confirmation", "导出确认表"),
    "review-teacher": ("county_a", "/review/teachers/{teacher}", "核心信息比对"),
    "dashboard-province": ("province", "/dashboard", "分学段"),
    "dashboard-city": ("city_a", "/dashboard", "分学段"),
    "orgsync-upload": ("province", "/orgsync", "批次文件"),
    "me": ("teacher", "/me", "确认无误"),
}
PHONE_PAGES = ("school-teachers", "review-teacher", "me")


async def open_as(new_page: NewPage, world: World, who: str, phone: bool = False) -> Page:
    page: Page = await new_page(phone=phone)
    if who == "teacher":
        assert world.teacher is not None
        await sign_in_as_teacher(page, world.teacher)
    elif who:
        await sign_in(page, world.accounts[who])
    return page


def path_of(template: str, world: World) -> str:
    assert world.teacher is not None
    return template.format(teacher=world.teacher.teacher_id, school=world.school_a)


async def overflow(page: Page) -> int:
    """How many pixels the document is wider than the window (0: no sideways scrolling)."""
    width: int = await page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth")
    return max(0, width)


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_each_page_opens_for_its_role_and_fits_a_laptop_screen(
        name: str, new_page: NewPage, world: World, shots: Shots) -> None:
    who, path, shows = PAGES[name]
    page = await open_as(new_page, world, who)
    response = await page.goto(path_of(path, world))
    assert response is not None and response.status == 200, await page.content()
    await expect(page.locator("body")).to_contain_text(shows)
    await expect(page.locator(".flash.error")).to_have_count(0)
    assert await overflow(page) == 0
    await shots(page, name)


@pytest.mark.parametrize("name", PHONE_PAGES)
async def test_the_main_pages_fit_a_phone(name: str, new_page: NewPage, world: World,
                                          shots: Shots) -> None:
    who, path, shows = PAGES[name]
    page = await open_as(new_page, world, who, phone=True)
    await page.goto(path_of(path, world))
    await expect(page.locator("body")).to_contain_text(shows)
    await expect(page.get_by_role("button", name="退出")).to_be_visible()
    assert await overflow(page) == 0
    await shots(page, f"phone-{name}", full_page=True)
