"""查找教师: a school finds a teacher of another county's school by ID number, sees only where
the person works, and starts the transfer from the hit; the county finds its own teacher by
the start of the name and opens the review page."""

from __future__ import annotations

import random

from playwright.async_api import expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World, a_person
from tests.browser.stack import WebStack
from tests.browser.ui import add_teacher, sign_in


async def test_a_school_finds_a_teacher_elsewhere_by_id_number_and_starts_the_transfer(
        new_page: NewPage, world: World, stack: WebStack, shots: Shots) -> None:
    person = a_person(random.Random())
    sending = await new_page()
    await sign_in(sending, world.accounts["school_a"])
    teacher_id = await add_teacher(sending, person)

    receiving = await new_page()
    await sign_in(receiving, world.accounts["school_b"])
    await receiving.goto("/search")
    await receiving.get_by_label("身份证号或姓名", exact=True).fill(person["id_number"])
    await receiving.get_by_role("button", name="查找").click()
    hits = receiving.locator("#hits tbody tr")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text(person["name"])
    await expect(receiving).to_have_url(f"{stack.web_url}/search")  # the number is not in it
    await shots(receiving, "search-by-id-number")
    await hits.first.get_by_role("link", name="调入本校").click()
    await expect(receiving).to_have_url(f"{stack.web_url}/school/teachers/{teacher_id}/transfer")

    county = await new_page()
    await sign_in(county, world.accounts["county_a"])
    await county.goto("/search")
    await county.get_by_label("身份证号或姓名", exact=True).fill(person["name"])
    await county.get_by_role("button", name="查找").click()
    mine = county.locator("#hits tbody tr", has_text=person["name"])
    await expect(mine.first).to_be_visible()
    await mine.first.get_by_role("link", name="审核信息").click()
    await expect(county).to_have_url(f"{stack.web_url}/review/teachers/{teacher_id}")
