"""Gansu's administrative divisions: 14 cities (市州) and their counties (县区).

Loaded from shared/data/gansu_divisions.csv (copied from the project's reference data).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city_code: str
    city_name: str


@dataclass(frozen=True)
class Divisions:
    counties: dict[str, County]
    cities: dict[str, str]  # code -> name

    def county(self, code: str) -> County | None:
        return self.counties.get(code)

    def city_of(self, county_code: str) -> str | None:
        c = self.counties.get(county_code)
        return c.city_code if c else None

    def counties_of(self, city_code: str) -> list[County]:
        return [c for c in self.counties.values() if c.city_code == city_code]


@lru_cache(maxsize=1)
def divisions() -> Divisions:
    counties: dict[str, County] = {}
    cities: dict[str, str] = {}
    with (DATA / "gansu_divisions.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            counties[row["county_code"]] = County(row["county_code"], row["county_name"],
                                                  row["city_code"], row["city_name"])
            cities[row["city_code"]] = row["city_name"]
    return Divisions(counties, cities)
