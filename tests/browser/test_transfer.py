"""省内调动 with its proof document: the receiving school (B) enters the transfer of a teacher of
school A with a scanned proof; its county's reviewer sees the proof inline on the record page
(served through the web front from intake); the school and the county approve it."""

from __future__ import annotations

import random

from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World, a_person
from tests.browser.stack import WebStack
from tests.browser.ui import add_teacher, decide, flashes, reload_until, sign_in


async def a_scanned_proof(page: Page, name: str) -> bytes:
    """A PNG 'scan' of a transfer letter, drawn by the browser itself."""
    await page.set_content(
        f"<html lang='zh-CN'><body style='font:20px sans-serif;padding:24px'>"
        f"<h2>教师调动审批表</h2><p>兹同意 {name} 同志调入秦州区东关小学任教。</p>"
        f"<p>（测试用合成材料）</p></body></html>")
    png: bytes = await page.screenshot(clip={"x": 0, "y": 0, "width": 480, "height": 220})
    return png


async def test_a_transfer_carries_its_proof_which_the_county_sees_inline_and_approves(
        new_page: NewPage, world: World, stack: WebStack, shots: Shots) -> None:
    person = a_person(random.Random())
    sending = await new_page()
    await sign_in(sending, world.accounts["school_a"])
    teacher_id = await add_teacher(sending, person)

    receiving = await new_page()
    await sign_in(receiving, world.accounts["school_b"])
    proof = await a_scanned_proof(await new_page(), person["name"])
    await receiving.goto("/school/transfer")
    await receiving.get_by_label("身份证号或教师编号", exact=True).fill(person["id_number"])
    await receiving.get_by_role("button", name="下一步").click()
    await expect(receiving).to_have_url(f"{stack.web_url}/school/teachers/{teacher_id}/transfer")
    await expect(receiving.get_by_label("调入学校代码", exact=True)).to_have_value(world.school_b)
    await receiving.get_by_label("证明材料", exact=True).set_input_files(
        {"name": "调动审批表.png", "mimeType": "image/png", "buffer": proof})
    await receiving.get_by_role("button", name="提交").click()
    await expect(flashes(receiving)).to_contain_text("已提交省内调动")

    county = await new_page()
    await sign_in(county, world.accounts["county_b"])
    image = county.get_by_role("img", name="证明材料")

    async def proof_shown() -> bool:
        return await image.count() == 1

    await reload_until(county, f"/review/teachers/{teacher_id}", proof_shown,
                       "the transfer's proof")
    await expect(county.locator("body")).to_contain_text("省内调动")
    loaded = await image.evaluate("img => img.complete && img.naturalWidth")
    assert loaded == 480, "the proof image did not load through the web front"
    await shots(county, "review-teacher-transfer-proof", full_page=True)

    await decide(receiving, teacher_id, "通过")
    await decide(county, teacher_id, "通过")
    await county.goto(f"/review/teachers/{teacher_id}")
    await expect(county.locator("body")).to_contain_text("审核完成")
    await expect(county.get_by_role("button", name="通过", exact=True)).to_have_count(0)

