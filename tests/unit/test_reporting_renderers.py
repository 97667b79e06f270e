"""Rendering: XLSX and text and the dashboard page carry the same numbers as the report."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from services.reporting.adapters.renderers import to_text, to_xlsx
from services.reporting.domain.reports import ReportRequest, build_report
from services.reporting.entrypoints.dashboard_html import page
from shared.domain.divisions import divisions
from tests.unit.test_reporting_fixtures import county_baseline_for, notice_schools, snapshot


def _reports():
    schools = notice_schools()
    snap = snapshot(schools, county_baseline_for(schools))
    return {n: build_report(ReportRequest(n), snap, divisions())
            for n in ("findings", "stages", "cities", "counties")}


def test_the_xlsx_stage_table_has_the_figures_and_a_sheet_of_flags():
    wb = load_workbook(io.BytesIO(to_xlsx(_reports()["stages"])))
    ws = wb.worksheets[0]
    values = [c for row in ws.iter_rows(values_only=True) for c in row]
    assert 20166 in values and 16037 in values and 365152 in values
    assert "提示" in wb.sheetnames


def test_the_text_table_shows_blanks_as_dashes():
    text = to_text(_reports()["stages"])
    senior = next(line for line in text.splitlines() if line.startswith("高中"))
    assert "—" in senior and "59185" in senior


def test_the_dashboard_page_shows_the_stage_table_numbers_in_chinese():
    r = _reports()
    html = page(as_of="2017-04-07", as_of_value="2017-04-07", findings=r["findings"],
                stages=r["stages"], cities=r["cities"], counties=r["counties"],
                scope_label="全省", downloads=[("CSV", "download/stages.csv")])
    for n in ("20,166", "16,037", "396,745", "365,152", "138,035"):
        assert n in html
    assert "分学段数据录入情况统计表" in html and "<svg" in html and "http" not in \
        html.replace("http://www.w3.org/2000/svg", "")
