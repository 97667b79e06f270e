"""What a person does on the pages, in the words of services/web/README.md: sign in, fill in
a teacher, download a file, decide a record, wait for a backend that follows events to catch
up (by reloading, as a person would). Elements are found by their Chinese labels and button
texts, never by CSS selectors the user cannot see, except the ids the README names.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, Route, expect

from tests.browser.seed import Login, TeacherLogin

FOLLOW_SECONDS = 60.0  # review and reporting follow intake's events within seconds


async def sign_in(page: Page, who: Login) -> None:
    await _submit_sign_in(page, "/login", {"用户名": who.username, "密码": who.password})


async def sign_in_as_teacher(page: Page, who: TeacherLogin) -> None:
    await _submit_sign_in(page, "/login/teacher", {"身份证号": who.id_number,
                                                   "登录凭证": who.credential})


async def _submit_sign_in(page: Page, path: str, fields: dict[str, str]) -> None:
    await page.goto(path)
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("button", name="退出")).to_be_visible()


async def fill_record(page: Page, record: dict[str, Any]) -> None:
    """Type a record (intake's RecordIn JSON) into the add/edit form, by the README's labels."""
    await page.get_by_label("姓名", exact=True).fill(record["name"])
    await page.get_by_label("身份证号", exact=True).fill(record["id_number"])
    await page.get_by_label("性别", exact=True).select_option(
        label={"male": "男", "female": "女"}[record["gender"]])
    await page.get_by_label("出生日期", exact=True).fill(record["birth_date"])
    await page.get_by_label("民族", exact=True).fill(record["ethnicity"])
    await page.get_by_label("任职状态", exact=True).select_option(label="在本单位任职")
    await page.get_by_label("是否专任教师", exact=True).select_option(label="是")
    await page.get_by_label("参加工作日期", exact=True).fill(record["hire_date"])
    await page.get_by_label("任教学段", exact=True).select_option(label="小学 (含教学点)")


async def add_teacher(page: Page, record: dict[str, Any]) -> str:
    """Enter a teacher on /school/teachers/new; the new teacher's id (from the page's URL)."""
    await page.goto("/school/teachers/new")
    await fill_record(page, record)
    await page.get_by_role("button", name="保存").click()
    await expect(page).to_have_url(re.compile(r"/school/teachers/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


async def download(page: Page, link_text: str) -> bytes:
    """Click a download link; the file's bytes, as the browser saved them."""
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name=link_text).click()
    saved = Path(await (await downloading.value).path())
    return await asyncio.to_thread(saved.read_bytes)


@contextlib.asynccontextmanager
async def held_back(page: Page, url_glob: str, seconds: float = 3.0) -> AsyncIterator[None]:
    """Inside, a POST to `url_glob` waits `seconds` before it leaves the browser: a long
    import or apply, long enough to see the page's progress display."""

    async def hold(route: Route) -> None:
        if route.request.method == "POST":
            await asyncio.sleep(seconds)
        await route.continue_()

    await page.route(url_glob, hold)
    try:
        yield
    finally:
        await page.unroute(url_glob, hold)


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="主导航")


def row_of(page: Page, table_id: str, text: str) -> Locator:
    """The row of table #table_id that mentions `text` (a name, a code)."""
    return page.locator(f"table#{table_id} tr").filter(has_text=text)


async def reload_until(page: Page, url: str, shown: Callable[[], Awaitable[bool]],
                       what: str, timeout: float = FOLLOW_SECONDS) -> None:
    """Open `url` again and again until `shown()` is true: the services behind the page
    follow each other's events a moment later, and a person would press F5."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(url)
        if await shown():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not shown on {url} within {timeout}s; the page "
                                 f"says:\n{await page.locator('body').inner_text()}")
        await asyncio.sleep(1.0)


async def decide(page: Page, teacher_id: str, decision: str, reason: str = "") -> None:
    """Open the record on /review/teachers/{id} (reloading until it awaits this reviewer's
    level: review follows intake's events a moment later) and approve or reject it."""
    button = page.get_by_role("button", name=decision, exact=True)

    async def awaits_me() -> bool:
        return await button.count() > 0

    await reload_until(page, f"/review/teachers/{teacher_id}", awaits_me,
                       f"the record awaiting a {decision} decision")
    if reason:
        await page.get_by_label("退回原因", exact=True).fill(reason)
    await button.click()
    await page.wait_for_load_state()
    await expect(page.locator(".flash.error")).to_have_count(0)


async def status_in_school_list(page: Page, name: str, wanted: str) -> None:
    row = row_of(page, "teachers", name)

    async def shown() -> bool:
        return await row.count() == 1 and wanted in await text_of(row)

    await reload_until(page, "/school", shown, f"{name}: {wanted}")


def field_error(page: Page, field: str) -> Locator:
    """The error shown right after the input named `field` (README: #error-FIELD)."""
    return page.locator(f"#error-{field}")


async def text_of(locator: Locator) -> str:
    return re.sub(r"\s+", " ", await locator.inner_text()).strip()


def flashes(page: Page) -> Locator:
    """Messages after a redirect (README: div.flash ok|error)."""
    return page.locator(".flash")


async def figures(table: Locator) -> dict[str, str]:
    """A small table of figures as {label: value}, whether the labels head the columns (one
    header row, one value row) or the rows (a label cell, then a value cell)."""
    rows: list[list[str]] = await table.locator("tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
    if len(rows) == 2 and len(rows[0]) == len(rows[1]) > 2:
        return dict(zip(rows[0], rows[1], strict=True))
    return {row[0]: row[1] for row in rows if len(row) >= 2}
