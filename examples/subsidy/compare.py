"""Does the subscriber's list agree with what TMIS's reporting says for the same teachers?

Reporting's school table (`GET /v1/reports/schools?as_of=D&format=json`, table "schools") gives
per school its county, whether it is open, and `review_complete`: the staff in post there whose
current record version completed county review. For every school the subscriber sees as open
and rural on D, the subscriber's count of listed teachers must equal that number, and the county
must be the same; a school the subscriber lists that reporting does not know is a disagreement
too. (Reporting does not show the rural flag; the subscriber's school events decide which
schools are rural.)

`disagreements` is pure; `reporting_schools` fetches the table. The end-to-end test can call
`check_against_reporting(book, day, client, headers)` after `tmis simulate`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import httpx

from examples.subsidy.book import Eligible, SubsidyBook, end_of_day


def disagreements(listed: Iterable[Eligible], rural_open_schools: Mapping[str, str],
                  reporting_rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Differences between the list and reporting's rows, one readable line each (empty:
    they agree). `rural_open_schools` maps the subscriber's rural, open schools to counties."""
    ours = Counter(e.school_code for e in listed)
    theirs = {r["school_code"]: r for r in reporting_rows}
    out = []
    for school, county in sorted(rural_open_schools.items()):
        row = theirs.get(school)
        if row is None:
            if ours[school]:
                out.append(f"{school}: {ours[school]} listed, unknown to reporting")
            continue
        if row.get("county_code") != county:
            out.append(f"{school}: county {county} here, {row.get('county_code')} in reporting")
        if not row.get("open", True):
            out.append(f"{school}: open here, closed in reporting")
        if ours[school] != int(row.get("review_complete") or 0):
            out.append(f"{school}: {ours[school]} listed, reporting counts "
                       f"{row.get('review_complete')} reviewed staff in post")
    for school in sorted(set(ours) - set(rural_open_schools)):
        out.append(f"{school}: listed but not a rural open school")
    return out


def rural_open(book: SubsidyBook, day: date) -> dict[str, str]:
    return {code: s.county_code for code, s in book.schools(end_of_day(day)).items()
            if s.known and s.open and s.is_rural and s.county_code}


async def reporting_schools(client: httpx.AsyncClient, day: date,
                            headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Reporting's school table as of `day` (JSON)."""
    response = await client.get("/v1/reports/schools",
                                params={"as_of": day.isoformat(), "format": "json"},
                                headers=dict(headers or {}))
    response.raise_for_status()
    doc = response.json()
    for table in doc.get("tables", []):
        if table.get("name") == "schools":
            return list(table.get("rows", []))
    raise LookupError("reporting's answer has no 'schools' table")


async def check_against_reporting(book: SubsidyBook, day: date, client: httpx.AsyncClient,
                                  headers: Mapping[str, str] | None = None) -> list[str]:
    """The disagreements between the book's list for `day` and reporting's school table."""
    rows = await reporting_schools(client, day, headers)
    return disagreements(book.eligible(end_of_day(day)), rural_open(book, day), rows)
