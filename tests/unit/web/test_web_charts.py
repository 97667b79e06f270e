"""What the 数据统计 charts draw, from reporting's JSON (pure functions)."""

from __future__ import annotations

from services.web.domain.charts import dashboard_charts, region_rates, stage_counts


def _report(*rows: dict) -> dict:
    return {"tables": [{"rows": list(rows)}]}


def test_rates_are_percentages_and_an_unknown_rate_stays_unknown() -> None:
    chart = region_rates(_report({"city_name": "兰州市", "school_rate": 0.5, "staff_rate": None},
                                 {"city_name": "嘉峪关市", "school_rate": 1.0234,
                                  "staff_rate": 0.9}), "city_name", "分市州录入率")
    assert chart is not None and chart["labels"] == ["兰州市", "嘉峪关市"]
    assert chart["series"][0]["values"] == [50.0, 102.3]
    assert chart["series"][1]["values"] == [None, 90.0] and chart["unknown"] is False


def test_the_stage_chart_leaves_out_the_total_row() -> None:
    chart = stage_counts(_report({"stage": "primary", "stage_name": "小学", "staff_entered": 7},
                                 {"stage": "total", "stage_name": "合计", "staff_entered": 7}))
    assert chart is not None and chart["labels"] == ["小学"]
    assert chart["series"][1] == {"name": "教职工数·系统录入", "axis": 0, "values": [7]}


def test_a_report_that_did_not_come_gives_no_chart() -> None:
    assert dashboard_charts({"stages": _report()}, None) == {}
