"""The teacher information confirmation (信息确认): the school exports the table and marks it
returned; a teacher signs in, confirms their record or flags a wrong field, and the school sees
the flag under 教师反馈."""

from __future__ import annotations

import io

import pypdf
from openpyxl import load_workbook
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.seed import World
from tests.browser.ui import download, flashes, row_of, sign_in, sign_in_as_teacher


def cells_of(xlsx: bytes) -> str:
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    return " ".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                    for v in row if v is not None)


async def test_the_school_exports_the_confirmation_table_and_marks_it_returned(
        new_page: NewPage, world: World) -> None:
    page = await new_page()
    await sign_in(page, world.accounts["school_a"])
    await page.goto("/school/confirmation")
    table = cells_of(await download(page, "导出确认表 (XLSX)"))
    for teacher in world.seeded_teachers:
        assert teacher.name in table, table[:500]

    await page.get_by_label("已签字", exact=True).check()
    await page.get_by_role("button", name="标记已交回").click()
    await expect(flashes(page)).to_contain_text("已标记确认表已交回（已签字）")


async def test_a_teacher_confirms_their_record_and_flags_a_field_the_school_then_sees(
        new_page: NewPage, world: World) -> None:
    assert world.teacher is not None
    me = await new_page()
    await sign_in_as_teacher(me, world.teacher)
    await expect(me.locator("#confirmed")).to_have_text("未确认")
    await me.get_by_role("button", name="确认无误").click()
    await expect(flashes(me)).to_contain_text("已确认")
    await expect(me.locator("#confirmed")).to_have_text("已确认")

    await me.get_by_label("有误字段", exact=True).select_option(label="最高学历")
    await me.get_by_label("说明", exact=True).fill("最高学历应为本科")
    await me.get_by_role("button", name="提交反馈").click()
    await expect(flashes(me)).to_contain_text("已提交反馈")

    school = await new_page()
    await sign_in(school, world.accounts["school_a"])
    await school.goto("/school")
    await expect(row_of(school, "flags", world.teacher.name)).to_contain_text("最高学历应为本科")


async def test_a_teacher_prints_their_own_confirmation_table_with_their_full_id_number(
        new_page: NewPage, world: World) -> None:
    assert world.teacher is not None
    me = await new_page()
    await sign_in_as_teacher(me, world.teacher)
    pdf = await download(me, "打印本人教师信息确认表（PDF，含完整身份证号）")
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert world.teacher.id_number in text
    for signature in ("教师本人签字", "学校管理员签字", "学校负责人签字"):
        assert signature in text
