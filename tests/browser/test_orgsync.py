"""Province staff upload a restructuring batch: the page shows what it would do, or every problem
by line; the province applies a clean batch (with progress), and it is listed as applied. City
staff may preview but not apply."""

from __future__ import annotations

import random
from datetime import date

from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import COUNTY_B, World
from tests.browser.ui import held_back, row_of, sign_in

HEADER = "batch_id,effective_date,op,school_code,target_code,name,stage,county_code"


def batch_csv(batch_id: str, rows: list[str]) -> bytes:
    day = date.today().isoformat()
    return "\n".join([HEADER, *(f"{batch_id},{day},{row}" for row in rows)]).encode()


async def preview(page: Page, content: bytes) -> None:
    await page.goto("/orgsync")
    await page.get_by_label("批次文件", exact=True).set_input_files(
        {"name": "batch.csv", "mimeType": "text/csv", "buffer": content})
    await page.get_by_role("button", name="预览").click()
    await page.wait_for_load_state()


async def test_a_batch_is_previewed_with_its_problems_then_fixed_and_applied(
        new_page: NewPage, world: World, shots: Shots) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["province"])
    rng = random.Random()
    batch_id = f"WEB-{rng.randrange(16**8):08x}"
    new_code = f"{COUNTY_B}{rng.randint(10**5, 10**6 - 1)}"
    opens = f"open,{new_code},,秦州区新城小学,primary,{COUNTY_B}"
    renames = f"rename,{world.school_b},,秦州区东关实验小学,,"

    # Line 3 renames a school nobody has heard of: refused, with its line.
    await preview(page, batch_csv(batch_id, [opens, "rename,0000000000,,无此学校,,"]))
    problems = page.locator("table#plan-problems tbody tr")
    await expect(problems).to_have_count(1)
    await expect(problems.locator("td").first).to_have_text("3")  # the header is line 1
    await expect(page.get_by_role("button", name="应用")).to_have_count(0)
    await shots(page, "orgsync-plan-problems", full_page=True)

    # Fixed: the plan shows both changes, and the province applies it.
    await preview(page, batch_csv(batch_id, [opens, renames]))
    await expect(page.locator("table#plan-problems")).to_have_count(0)
    await expect(row_of(page, "plan-changes", new_code)).to_have_count(1)
    await expect(row_of(page, "plan-changes", world.school_b)).to_contain_text("秦州区东关实验小学")
    await shots(page, "orgsync-plan", full_page=True)
    async with held_back(page, "**/orgsync/apply"):  # a long apply: progress shows
        await page.get_by_role("button", name="应用").click()
        await expect(page.get_by_role("progressbar")).to_be_visible()
        await expect(page.get_by_role("button", name="应用")).to_be_disabled()
    await expect(page.locator("body")).to_contain_text(f"批次 {batch_id} 已应用",
                                                       timeout=60_000)

    await page.goto("/orgsync/pending")
    await expect(row_of(page, "batches", batch_id)).to_have_count(1)
    await shots(page, "orgsync-pending", full_page=True)


async def test_city_staff_preview_a_batch_but_cannot_apply_it(new_page: NewPage, world: World
                                                              ) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["city_b"])
    code = f"{COUNTY_B}{random.randint(10**5, 10**6 - 1)}"
    await preview(page, batch_csv(f"WEB-CITY-{code}", [f"open,{code},,秦州区预览小学,primary,"
                                                       f"{COUNTY_B}"]))
    await expect(row_of(page, "plan-changes", code)).to_have_count(1)
    await expect(page.get_by_role("button", name="应用")).to_have_count(0)
