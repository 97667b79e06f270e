"""The dashboard page: self-contained HTML (inline CSS, server-rendered inline SVG bar charts,
no script, no network), Chinese labels. It only lays out Reports built by the domain, so its
numbers are the stage table's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from html import escape
from typing import Any

from services.reporting.adapters.renderers import cell_text
from services.reporting.domain.tables import Flag, Report, Table

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC","AR PL UMing CN",sans-serif;
margin:0;background:#f4f6f9;color:#1f2933}
header{background:#8b1e1e;color:#fff;padding:14px 28px;display:flex;align-items:center;
justify-content:space-between;flex-wrap:wrap;gap:12px}
header h1{font-size:20px;margin:0;font-weight:600}
header form{display:flex;gap:8px;align-items:center;font-size:14px}
header input,header button{font-size:14px;padding:4px 8px;border-radius:4px;border:1px solid #ccc}
header button{background:#fff;color:#8b1e1e;font-weight:600;cursor:pointer}
main{max-width:1200px;margin:0 auto;padding:18px 24px 40px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);
padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 12px;border-left:4px solid #8b1e1e;padding-left:8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.card{background:#fafbfc;border:1px solid #e4e7eb;border-radius:6px;padding:10px 12px}
.card .k{font-size:13px;color:#52606d}.card .v{font-size:24px;font-weight:700;margin-top:4px}
.card .s{font-size:12px;color:#7b8794}
.notice p{line-height:1.9;margin:6px 0;text-indent:2em}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{border:1px solid #d9dee4;padding:5px 8px}
th{background:#f0f2f5;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:700;background:#fbf7ee}
td.blank{color:#9aa5b1;text-align:center}
td.warn{background:#fff2cc}td.over{color:#0b6e4f}
.flags li{margin:4px 0}.flags li.warning{color:#8a5300}
.note{font-size:12.5px;color:#616e7c;margin-top:8px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
a.dl{font-size:13px;margin-right:12px;color:#8b1e1e}
svg text{font-size:12px;fill:#323f4b}
"""


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def cards(h: dict[str, Any]) -> str:
    items = [
        ("年报学校数", _num(h.get("annual_schools")), ""),
        ("已录入学校数", _num(h.get("entered_schools")), "至少录入 1 名在职教职工"),
        ("学校录入率", h.get("school_rate_notice") or "—", f"精确值 {_pct(h.get('school_rate'))}"),
        ("年报教职工数", _num(h.get("annual_staff")), ""),
        ("录入教职工数", _num(h.get("entered_staff")), "在本单位任职"),
        ("教师录入率", h.get("staff_rate_notice") or "—", f"精确值 {_pct(h.get('staff_rate'))}"),
        ("审核完成教师数", _num(h.get("review_complete")), "县级审核通过当前版本"),
        ("平均信息完整率", _pct(h.get("completeness_avg")), ""),
        ("未录入教师的学校", _num(h.get("schools_missing")),
         f"其中幼儿园 {_num(h.get('kindergartens_missing'))} 所"),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="s">{escape(s)}</div></div>' for k, v, s in items) + "</div>"


def _flagged_cells(flags: Sequence[Flag]) -> dict[tuple[str, str], Flag]:
    out: dict[tuple[str, str], Flag] = {}
    for f in flags:
        if f.code == "sum_mismatch":
            out[("total", f.where["column"])] = f
        elif f.code == "entered_exceeds_annual":
            out[(f.where["stage"], f"{f.where['column']}_entered")] = f
    return out


def html_table(table: Table, *, skip: Sequence[str] = (), total_key: str | None = None,
               flags: Sequence[Flag] = (), row_key: str = "") -> str:
    cols = [c for c in table.columns if c.key not in skip]
    marked = _flagged_cells(flags)
    head = "".join(f"<th>{escape(c.label)}</th>" for c in cols)
    body = []
    for row in table.rows:
        cls = ' class="total"' if total_key and row.get(row_key) == total_key else ""
        cells = []
        for c in cols:
            value = row.get(c.key)
            text = cell_text(value, c)
            flag = marked.get((str(row.get(row_key)), c.key))
            klass = ["n"] if c.kind != "text" else []
            if value is None:
                klass.append("blank")
                text = "—"
            elif isinstance(value, int) and not isinstance(value, bool) and c.kind == "int":
                text = f"{value:,}"
            if flag is not None:
                klass.append("warn" if flag.code == "sum_mismatch" else "over")
            title = f' title="{escape(flag.message)}"' if flag else ""
            mark = " ⚠" if flag is not None and flag.code == "sum_mismatch" else \
                " ↑" if flag is not None else ""
            cells.append(f'<td class="{" ".join(klass)}"{title}>{escape(text)}{mark}</td>')
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    note = f'<div class="note">注：{escape(table.note)}</div>' if table.note else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"


def bar_chart(items: Sequence[tuple[str, float | None, str]], *, highlight: int = 0,
              width: int = 540, title: str = "", label_w: int = 110) -> str:
    """Horizontal bars of rates (0..), sorted as given; the first `highlight` bars in red.
    Rates above 100% run past the 100% line (entered may exceed annual)."""
    items = [i for i in items if i[1] is not None]
    if not items:
        return '<div class="note">没有可比较的年报数据。</div>'
    bar_h, gap_h = 16, 6
    top = max(1.0, max(v or 0 for _, v, _ in items))
    plot_w = width - label_w - 70
    scale = plot_w / top
    height = len(items) * (bar_h + gap_h) + 24
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, note) in enumerate(items):
        y = 4 + i * (bar_h + gap_h)
        w = max(1.0, (value or 0) * scale)
        color = "#c0392b" if i < highlight else "#3e7cb1"
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{color}"><title>{escape(label)} {escape(note)}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{(value or 0) * 100:.1f}%'
                     f'</text>')
    x100 = label_w + scale
    parts.append(f'<line x1="{x100:.1f}" x2="{x100:.1f}" y1="0" y2="{height - 18}" '
                 'stroke="#888" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x100:.1f}" y="{height - 4}" text-anchor="middle">100%</text>')
    parts.append("</svg>")
    return "".join(parts)


def rate_bars(table: Table, name_key: str, highlight: int, title: str, *, width: int = 540,
              label_w: int = 110) -> str:
    rows = sorted((r for r in table.rows if r.get("staff_rate") is not None),
                  key=lambda r: (r["staff_rate"], r.get(name_key) or ""))
    return bar_chart([(r[name_key], r["staff_rate"],
                       f"{_num(r['staff_entered'])} / {_num(r['staff_annual'])}") for r in rows],
                     highlight=highlight, title=title, width=width, label_w=label_w)


def flags_list(flags: Sequence[Flag]) -> str:
    if not flags:
        return '<div class="note">无。</div>'
    return '<ul class="flags">' + "".join(
        f'<li class="{escape(f.severity)}">{escape(f.message)}</li>' for f in flags) + "</ul>"


def page(*, as_of: str, as_of_value: str, findings: Report, stages: Report, cities: Report,
         counties: Report, scope_label: str, downloads: Sequence[tuple[str, str]]) -> str:
    h = findings.summary["headline"]
    notice = "".join(f"<p>{escape(p)}</p>" for p in findings.summary.get("notice_text", []))
    st = stages.table("stages")
    lowest = findings.table("lowest_cities")
    kg = findings.table("kindergarten_gaps")
    zero_expected = findings.table("zero_but_expected")
    zero = findings.table("zero_teacher_schools")
    pending = findings.table("pending_restructurings")
    city_rows = cities.table("cities")
    county_rows = counties.table("counties")
    dl = "".join(f'<a class="dl" href="{escape(href)}">{escape(label)}</a>'
                 for label, href in downloads)
    year = stages.sources.get("year")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>教师管理信息系统 数据采集情况（截至 {escape(as_of)}）</title>
<style>{CSS}</style></head>
<body>
<header><h1>全国教师管理信息系统 · 数据采集情况 <small>（{escape(scope_label)}，截至
{escape(as_of)}，对比 {escape(str(year or '—'))} 年年报）</small></h1>
<form method="get" action="./"><label for="as_of">截至日期</label>
<input type="date" id="as_of" name="as_of" value="{escape(as_of_value)}">
<button type="submit">查询</button></form></header>
<main>
<section id="headline"><h2>全省总体数据录入情况</h2>{cards(h)}
<div class="notice">{notice}</div></section>
<section id="stages"><h2>分学段数据录入情况统计表</h2>
{html_table(st, skip=("stage",), total_key="total", flags=st.flags, row_key="stage")}
<div style="margin-top:8px">{dl}</div></section>
<section class="grid2">
<div><h2>各市州教职工录入率</h2>{rate_bars(city_rows, "city_name", len(lowest.rows),
                                          "各市州教职工录入率")}
<div class="note">红色为录入率后 {len(lowest.rows)} 位的市州；
虚线为 100%（录入数可能超过年报数）。</div></div>
<div><h2>录入率后 {len(lowest.rows)} 位的市州</h2>{html_table(lowest)}
<h2 style="margin-top:18px">幼儿园数据差距最大的县区</h2>{html_table(kg, skip=("city_name",))}</div>
</section>
<section id="counties"><h2>各县区教职工录入率</h2>
{rate_bars(county_rows, "county_name", 10, "各县区教职工录入率", width=1100, label_w=170)}
<div class="note">红色为录入率最低的 10 个县区。</div></section>
<section id="gaps"><h2>分市州对比（年报与系统）</h2>{html_table(city_rows, skip=(
        "city_code", "schools_base", "staff_base"))}</section>
<section id="zero"><h2>{escape(zero_expected.title)}</h2>{html_table(zero_expected)}
<h2 style="margin-top:18px">{escape(zero.title)}</h2>{html_table(_first(zero, 100))}
{_more(zero, 100)}</section>
<section id="restructuring"><h2>{escape(pending.title)}</h2>{html_table(pending)}</section>
<section id="flags"><h2>数据提示</h2>{flags_list(findings.flags)}</section>
</main></body></html>"""


def _first(table: Table, n: int) -> Table:
    return replace(table, rows=table.rows[:n])


def _more(table: Table, n: int) -> str:
    extra = len(table.rows) - n
    return f'<div class="note">另有 {extra} 所未列出，完整名单见“下载”。</div>' if extra > 0 else ""


def login_page(message: str = "", title: str = "请登录") -> str:
    """The page instead of the dashboard: no token form (a token never goes into a URL); the
    session is the web front's, so the way in is to sign in there."""
    msg = f'<p style="color:#b00">{escape(message)}</p>' if message else ""
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>教师管理信息系统 · {escape(title)}</title><style>{CSS}</style></head><body>
<header><h1>全国教师管理信息系统 · 数据采集情况</h1></header><main><section>
<h2>{escape(title)}</h2>{msg}<p>请先在教师管理信息系统网页端登录（登录页 /login），
再打开本页：同一主机上的登录会话在此有效。程序访问请使用请求头
<code>Authorization: Bearer</code>，不要把令牌放在网址中。</p></section></main></body></html>"""
