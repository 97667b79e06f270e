"""What a person does on the pages, in the words of services/web/README.md: sign in, open a
page from the top nav, wait for a backend that follows events to catch up (by reloading, as a
person would). Elements are found by their Chinese labels and button texts, never by CSS
selectors the user cannot see, except the table ids the README names.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from playwright.async_api import Locator, Page, expect

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


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="主导航")


async def open_from_nav(page: Page, link_text: str) -> None:
    await nav(page).get_by_role("link", name=link_text, exact=True).click()
    await page.wait_for_load_state()


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
