"""`tmis replay reporting` rebuilds the same projection from the log; the dashboard renders
in a real headless Chromium with the stage table's numbers, signed in by the web front's
session cookie (never a token in the URL)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from services.reporting.entrypoints.replay import rebuild
from shared.auth import SESSION_COOKIE
from shared.contracts.events import ReviewCompleted, SchoolClosed, TeacherReassigned
from shared.contracts.vocabulary import Stage
from tests.integration.test_reporting_world import (
    as_of,
    caught_up,
    day,
    dump,
    epoch,
    reporting,
    school,
    sources,
    tag,
    teacher,
)
from tests.support import eventually, settings_for
from tests.unit.test_reporting_fixtures import STAGE_CSV

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


async def _history(src, t0, k):
    """A small history with every kind of event reporting counts, some out of order."""
    a, b, m = f"A{k}", f"B{k}", f"M{k}"
    await src.intake.emit(f"school-{a}", [school(a, Stage.PRIMARY, teaching_point=True)],
                          day(t0, 0))
    await src.intake.emit(f"school-{b}", [school(b, Stage.KINDERGARTEN, county="620502",
                                                 city="620500")], day(t0, 0))
    await src.intake.emit(f"school-{m}", [school(m, Stage.KINDERGARTEN)], day(t0, 0))
    ts = [teacher(code) for code in (a, a, b, m, m)]
    for t in ts:
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    await src.review.emit(f"review-{ts[0].teacher_id}", [ReviewCompleted(
        teacher_id=ts[0].teacher_id, record_version=1, school_code=a, county_code="620102")],
        day(t0, 3))
    await src.intake.emit(f"school-{m}", [SchoolClosed(school_code=m, merged_into=b)],
                          day(t0, 9))
    for t in ts[3:]:
        await src.orgsync.emit(f"teacher-{t.teacher_id}", [TeacherReassigned(
            teacher_id=t.teacher_id, from_school_code=m, to_school_code=b, batch_id=k)],
            day(t0, 9))
    return a, b, m


async def test_replay_rebuilds_exactly_the_live_projection(stack_env):
    settings = settings_for(stack_env)
    schema = f"reporting_t{tag()}"
    t0, k = epoch(), tag()
    async with sources(settings) as src, reporting(settings, schema) as (svc, _):
        _, b, _ = await _history(src, t0, k)
        await svc.client.post("/v1/baselines",
                              files={"file": ("n.csv", STAGE_CSV.read_bytes())},
                              data={"kind": "annual", "year": "2016"},
                              headers=svc.auth("province_admin"))
        await eventually(lambda: svc.schools({b}, as_of=as_of(t0, 10)),
                         lambda r: r.get(b, {}).get("staff_entered") == 3)
        await caught_up(svc.runtime, schema)
        before = await svc.report("stages", as_of=as_of(t0, 10))
        live = await dump(svc.runtime.pool, schema)
        stats = await rebuild(settings, schema)
        assert stats.messages >= 10
        rebuilt = await dump(svc.runtime.pool, schema)
        for table in live:
            assert rebuilt[table] == live[table], table
        assert await svc.report("stages", as_of=as_of(t0, 10)) == before


async def test_the_dashboard_renders_in_chromium_with_the_stage_table_numbers(stack_env):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    settings = settings_for(stack_env)
    t0, k = epoch(), tag()
    async with sources(settings) as src, \
            reporting(settings, f"reporting_t{tag()}", http=True) as (svc, url):
        a, b, _ = await _history(src, t0, k)
        day10 = as_of(t0, 10)
        await eventually(lambda: svc.schools({a, b}, as_of=day10),
                         lambda r: r.get(b, {}).get("staff_entered") == 3)
        stages = await svc.report("stages", as_of=day10)
        dom = await _signed_in_page(chromium, f"{url}/?as_of={day10}",
                                    svc.token("province_admin"))
        # the CLI reads the same service: its CSV is the API's CSV, the notice's columns
        api_csv = (await svc.client.get("/v1/reports/stages", params={
            "as_of": day10, "format": "csv"}, headers=svc.auth("query"))).text
        cli_csv = await asyncio.to_thread(_tmis, url, "report", "stages", "--as-of", day10,
                                          "--format", "csv")
        imported = await asyncio.to_thread(_tmis, url, "baseline", "import", str(STAGE_CSV),
                                           "--kind", "annual", "--year", "2999")
    assert cli_csv == api_csv
    notice_header = STAGE_CSV.read_text(encoding="utf-8").splitlines()[0]
    assert cli_csv.lstrip("\ufeff").splitlines()[0] == notice_header
    assert "8 rows" in imported and "FLAG schools: rows sum to 20196, total says 20166" in \
        imported
    assert "分学段数据录入情况统计表" in dom
    table = dom.split('id="stages"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    shown = [[cell.split(">", 1)[1].split("<", 1)[0].replace(",", "").rstrip(" ⚠↑")
              for cell in tr.split("<td")[1:]] for tr in body.split("<tr")[1:]]
    keys = ("stage_name", "schools_annual", "schools_entered", "teaching_points_annual",
            "teaching_points_entered", "staff_annual", "staff_entered", "fulltime_annual",
            "fulltime_entered")
    expected = [["—" if row[key] is None else str(row[key]) for key in keys]
                for row in stages["tables"][0]["rows"]]
    assert [r[:len(keys)] for r in shown] == expected
    assert expected[-1][6] == "5"  # the five teachers of the history, counted once


def _tmis(url: str, *args: str) -> str:
    env = {**os.environ, "TMIS_REPORTING_URL": url}
    done = subprocess.run([sys.executable, "-m", "tmis_cli.main", *args], capture_output=True,
                          text=True, timeout=120, check=True, env=env, cwd=REPO)
    return done.stdout


async def _signed_in_page(binary: str, url: str, token: str) -> str:
    """The page as Chromium renders it for a browser that holds the session cookie."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        try:
            context = await browser.new_context()
            await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": url,
                                        "httpOnly": True, "sameSite": "Strict"}])
            page = await context.new_page()
            await page.goto(url)
            return await page.content()
        finally:
            await browser.close()
