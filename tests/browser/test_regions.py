"""A user sees and touches only their region: the pages of another region's teacher are
refused with the Chinese message (README: 403, role="alert", "无权操作…"), and nothing of that
teacher shows. The services decide; the web front only shows their answer."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import NewPage, Shots
from tests.browser.seed import World
from tests.browser.ui import row_of, sign_in

REFUSED = "无权操作"


async def test_another_schools_administrator_cannot_open_or_edit_our_teacher(
        new_page: NewPage, world: World, shots: Shots) -> None:
    assert world.teacher is not None
    page = await new_page()
    await sign_in(page, world.accounts["school_b"])
    response = await page.goto(f"/school/teachers/{world.teacher.teacher_id}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    await expect(page.locator("body")).not_to_contain_text(world.teacher.name)
    await expect(page.locator("body")).not_to_contain_text(world.teacher.id_number)
    await shots(page, "refused-other-region")


async def test_another_countys_reviewer_cannot_see_or_decide_our_record(
        new_page: NewPage, world: World) -> None:
    assert world.teacher is not None
    page = await new_page()
    await sign_in(page, world.accounts["county_b"])
    response = await page.goto(f"/review/teachers/{world.teacher.teacher_id}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    await expect(page.get_by_role("button", name="通过", exact=True)).to_have_count(0)
    await expect(page.locator("body")).not_to_contain_text(world.teacher.name)
    await page.goto("/review?status=all")
    await expect(row_of(page, "queue", world.teacher.name)).to_have_count(0)


async def test_a_decision_posted_from_another_county_is_refused_and_changes_nothing(
        new_page: NewPage, world: World) -> None:
    """Not through the page (it offers no button), but as a hand-made form post with the
    session's own CSRF token: the review service refuses it."""
    assert world.teacher is not None
    page = await new_page()
    await sign_in(page, world.accounts["county_b"])
    await page.goto("/review")
    csrf = await page.locator("input[name=csrf_token]").first.input_value()
    answer = await page.request.post(f"/review/teachers/{world.teacher.teacher_id}", form={
        "csrf_token": csrf, "record_version": "1", "decision": "approve", "reason": "",
        "comment": ""}, max_redirects=0)
    assert answer.status == 403, await answer.text()
    assert REFUSED in await answer.text()

    school = await new_page()
    await sign_in(school, world.accounts["school_a"])
    await school.goto("/school")
    await expect(row_of(school, "teachers", world.teacher.name)).to_contain_text("待学校审核")


async def test_a_school_administrator_lists_only_their_own_schools_teachers(
        new_page: NewPage, world: World) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["school_b"])
    await page.goto("/school")
    await expect(page.locator("table#teachers")).not_to_contain_text(
        world.seeded_teachers[0].name)
    await expect(page.locator("body")).to_contain_text(world.school_b)


async def test_a_school_administrator_is_refused_the_province_s_restructuring(
        new_page: NewPage, world: World) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["school_a"])
    await expect(page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="撤并调整")).to_have_count(0)
    response = await page.goto("/orgsync/pending")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text(REFUSED)
