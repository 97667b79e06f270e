"""The harness itself: the web front answers and sees its four backends, chromium opens its
sign-in page, and every seeded account lands on its role's start page (README: `/` redirects
by role) with only its role's links in the top nav."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.seed import World
from tests.browser.stack import WebStack
from tests.browser.ui import nav, sign_in, sign_in_as_teacher

START = {
    "school_a": ("/school", "本校教师", "数据统计"),
    "county_a": ("/review", "审核队列", "新增教师"),
    "city_a": ("/dashboard", "数据统计", "新增教师"),
    "province": ("/dashboard", "撤并调整", "新增教师"),
}


async def test_the_web_front_is_healthy_and_reaches_all_four_backends(stack: WebStack) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        r = await client.get(f"{stack.web_url}/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["peers"] == {"intake": True, "review": True, "orgsync": True,
                                 "reporting": True}


async def test_chromium_opens_the_sign_in_page_in_chinese(new_page: NewPage, stack: WebStack
                                                          ) -> None:
    page = await new_page()
    await page.goto("/")
    await expect(page).to_have_url(f"{stack.web_url}/login")  # not signed in yet
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    await expect(page.get_by_label("用户名", exact=True)).to_be_editable()
    await expect(page.get_by_label("密码", exact=True)).to_be_editable()
    await expect(page.get_by_role("button", name="登录")).to_be_enabled()


async def test_a_wrong_password_is_refused_on_the_sign_in_page(new_page: NewPage, world: World
                                                               ) -> None:
    page = await new_page()
    await page.goto("/login")
    await page.get_by_label("用户名", exact=True).fill(world.accounts["school_a"].username)
    await page.get_by_label("密码", exact=True).fill("not-the-password-1")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_role("button", name="退出")).to_have_count(0)


@pytest.mark.parametrize("who", sorted(START))
async def test_each_role_lands_on_its_start_page_with_only_its_links(
        who: str, new_page: NewPage, world: World, stack: WebStack) -> None:
    start, own_link, foreign_link = START[who]
    page = await new_page()
    await sign_in(page, world.accounts[who])
    await expect(page).to_have_url(f"{stack.web_url}{start}")
    await expect(nav(page).get_by_role("link", name=own_link, exact=True)).to_be_visible()
    await expect(nav(page).get_by_role("link", name=foreign_link, exact=True)).to_have_count(0)


async def test_a_teacher_signs_in_with_the_schools_credential_and_sees_their_record(
        new_page: NewPage, world: World, stack: WebStack) -> None:
    assert world.teacher is not None
    page = await new_page()
    await sign_in_as_teacher(page, world.teacher)
    await expect(page).to_have_url(f"{stack.web_url}/me")
    await expect(page.locator("table#record")).to_contain_text(world.teacher.name)


async def test_signing_out_ends_the_session(new_page: NewPage, world: World) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["county_a"])
    await page.get_by_role("button", name="退出").click()
    await expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    await expect(page.get_by_role("status")).to_contain_text("已退出")
    await page.goto("/review")  # the cookie is gone: back to sign-in, then back to /review
    await expect(page).to_have_url(re.compile(r"/login\?.*next=(/|%2F)review"))
    await expect(page.get_by_role("alert")).to_contain_text("请先登录")
    await expect(page.get_by_role("button", name="退出")).to_have_count(0)
