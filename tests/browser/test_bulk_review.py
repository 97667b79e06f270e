"""Many at once: the school approves two records with one click (checkboxes and 通过), the
county finds them in its queue oldest first, and draws a spot-check sample of its county."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World
from tests.browser.ui import flashes, reload_until, row_of, sign_in


async def test_a_school_approves_two_records_at_once_and_the_county_sees_them_oldest_first(
        new_page: NewPage, world: World, shots: Shots) -> None:
    first, second = world.seeded_teachers[1], world.seeded_teachers[2]
    school = await new_page()
    await sign_in(school, world.accounts["school_a"])
    await school.goto("/review")
    for teacher in (first, second):
        await school.get_by_label(f"选择 {teacher.name}", exact=True).check()
    await shots(school, "review-queue-school", full_page=True)
    await school.get_by_role("button", name="通过", exact=True).click()
    await expect(flashes(school)).to_contain_text("通过 2 条")

    county = await new_page()
    await sign_in(county, world.accounts["county_a"])

    async def both_listed() -> bool:
        return all([await row_of(county, "queue", t.name).count() == 1
                    for t in (first, second)])

    await reload_until(county, "/review", both_listed, "the two school-approved records")
    names = await county.locator("table#queue tbody tr").all_inner_texts()
    order = [i for i, row in enumerate(names) for t in (first, second) if t.name in row]
    assert order == sorted(order) and len(order) == 2, names  # submitted first, listed first
    await shots(county, "review-queue-county", full_page=True)


async def test_a_county_reviewer_draws_a_spot_check_sample(new_page: NewPage, world: World,
                                                          shots: Shots) -> None:
    county = await new_page()
    await sign_in(county, world.accounts["county_a"])
    await county.goto("/review/spot-checks")
    await expect(county.get_by_label("县区代码", exact=True)).to_have_value("620102")
    await county.get_by_label("抽取数量", exact=True).fill("1")
    await county.get_by_label("随机种子", exact=True).fill("2017")
    await county.get_by_role("button", name="抽取").click()
    samples = county.locator("table#samples tbody tr")
    await expect(samples).not_to_have_count(0)
    await expect(samples.first).to_contain_text("2017")
    await shots(county, "review-spot-checks", full_page=True)
