"""Fixtures of the browser suite: a throwaway stack (the session's Kafka and PostgreSQL from
`stack_env`, the four services and the web front as subprocesses on free ports, see stack.py),
the seeded accounts (seed.py), and Debian's chromium driven by Playwright.

Playwright (the `dev` extras) drives the browser; its own browser download does not work here,
so the tests launch /usr/bin/chromium (`executable_path`, or $TMIS_CHROMIUM), and every test
skips, saying why, when there is none. Like the e2e suite, this one recreates Kafka's `tmis.*`
topics, so it refuses a stack named by TMIS_KAFKA_BOOTSTRAP (someone's own `tmis up`).

Screenshots: `shots` saves a page as a PNG in $TMIS_SCREENSHOTS (`make screenshots` points it
at docs/screenshots/), else in the test session's temporary directory, so an ordinary run
leaves the committed pictures alone.

A skipped browser test fails the run (`make test` installs chromium first: `make
browser-deps`), so a machine without chromium cannot pass CI having run none of them;
TMIS_ALLOW_BROWSER_SKIP=1 lets the skips pass (a developer's machine without chromium).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from tests.browser.seed import World, seed_world, until_followed
from tests.browser.stack import WebStack, web_stack
from tests.integration.conftest_stack import StackEnv, stack_env

__all__ = ["stack_env"]

CHROMIUM = Path(os.environ.get("TMIS_CHROMIUM", "/usr/bin/chromium"))
LAPTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)

Shots = Callable[..., Awaitable[Path]]
NewPage = Callable[..., Awaitable[Page]]


def _why_not_runnable() -> str | None:
    if shutil.which(str(CHROMIUM)) is None:
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set TMIS_CHROMIUM)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real chromium through the web front")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _why_not_runnable()
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
async def stack(stack_env: StackEnv, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[WebStack]:
    if stack_env.source == "env":
        pytest.skip("the browser tests recreate Kafka's tmis.* topics: not on a stack named by "
                    "TMIS_KAFKA_BOOTSTRAP (unset it to let the tests start their own)")
    logs = tmp_path_factory.mktemp("browser-logs")
    async with web_stack(stack_env.kafka_bootstrap, stack_env.database_url, logs) as s:
        yield s


@pytest.fixture(scope="session")
async def world(stack: WebStack) -> World:
    seeded = await seed_world(stack.url("intake"))
    await until_followed(seeded, stack.url("orgsync"), stack.url("review"))
    return seeded


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        # --no-sandbox: the tests may run as root (in a container), where chromium's sandbox
        # refuses to start; --lang: chromium's own words (file and date pickers) in Chinese,
        # where Debian's chromium-l10n is installed (without it they stay English).
        launched = await p.chromium.launch(executable_path=str(CHROMIUM),
                                           args=["--no-sandbox", "--lang=zh-CN"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def new_page(browser: Browser, stack: WebStack, request: pytest.FixtureRequest,
                   tmp_path: Path) -> AsyncIterator[NewPage]:
    """`await new_page()` (laptop) or `await new_page(phone=True)`: a page in a fresh browser
    context (its own cookies: one signed-in user), closed after the test. A failing test leaves
    a screenshot of every page it opened in its tmp_path."""
    contexts: list[BrowserContext] = []

    async def make(phone: bool = False) -> Page:
        context = await browser.new_context(
            viewport=PHONE if phone else LAPTOP, locale="zh-CN", base_url=stack.web_url,
            is_mobile=phone, has_touch=phone, device_scale_factor=1)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return await context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None)
    for i, context in enumerate(contexts):
        if failed is not None and failed.failed:
            for j, page in enumerate(context.pages):
                path = tmp_path / f"failure-{i}-{j}.png"
                await page.screenshot(path=str(path), full_page=True)
                print(f"failure screenshot: {path} ({page.url})")
        await context.close()
    if failed is not None and failed.failed:
        print(stack.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "tests/browser/" in report.nodeid:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _SKIPPED or os.environ.get("TMIS_ALLOW_BROWSER_SKIP") == "1":
        return
    print(f"\n{len(_SKIPPED)} browser test(s) skipped, which fails the run: install what they "
          "need (make browser-deps), or set TMIS_ALLOW_BROWSER_SKIP=1 to allow the skips")
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("TMIS_SCREENSHOTS")
    where = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    """`await shots(page, "school-list")`: the page as it is now, as <dir>/school-list.png."""

    async def take(page: Page, name: str, full_page: bool = False) -> Path:
        path = screenshot_dir / f"{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
