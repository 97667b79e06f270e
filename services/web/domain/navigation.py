"""What each role sees in the top navigation, and where `/` sends it.

The navigation only shows what a role may do; it allows nothing by itself (the backends
enforce role and region on every call).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    label: str
    href: str


SCHOOL_ADMIN = (Link("本校教师", "/school"), Link("新增教师", "/school/teachers/new"),
                Link("批量导入", "/school/import"), Link("调入", "/school/transfer"),
                Link("返岗", "/school/return-to-post"), Link("信息确认表", "/school/confirmation"),
                Link("学校初审", "/review"), Link("查找教师", "/search"))
COUNTY_ADMIN = (Link("审核队列", "/review"), Link("抽查", "/review/spot-checks"),
                Link("数据统计", "/dashboard"), Link("数据质量", "/quality"),
                Link("催报", "/chasing"),
                Link("查找教师", "/search"))
CITY_ADMIN = (Link("数据统计", "/dashboard"), Link("审核队列", "/review"),
              Link("撤并预览", "/orgsync"),
              Link("待撤并", "/orgsync/pending"), Link("数据质量", "/quality"),
              Link("催报", "/chasing"), Link("查找教师", "/search"))
PROVINCE_ADMIN = (Link("数据统计", "/dashboard"), Link("审核队列", "/review"),
                  Link("撤并调整", "/orgsync"),
                  Link("待撤并", "/orgsync/pending"), Link("数据质量", "/quality"),
                  Link("催报", "/chasing"), Link("查找教师", "/search"))
READER = (Link("数据统计", "/dashboard"), Link("查找教师", "/search"))
SCHOOL_READER = (Link("本校教师", "/school"),)
TEACHER = (Link("我的信息", "/me"),)

_NAV: dict[str, tuple[Link, ...]] = {
    "school_admin": SCHOOL_ADMIN, "county_admin": COUNTY_ADMIN, "city_admin": CITY_ADMIN,
    "province_admin": PROVINCE_ADMIN, "query": READER, "school_sysadmin": SCHOOL_READER,
    "county_sysadmin": READER, "city_sysadmin": READER, "province_sysadmin": READER,
    "teacher": TEACHER, "service": PROVINCE_ADMIN,
}

PLANNERS = frozenset({"city_admin", "province_admin", "service"})
APPLIERS = frozenset({"province_admin", "service"})
# city and province review the records of their own 市属 / 厅直属 schools and universities
# after the school (review decides whose records are whose: the school's reporting line)
REVIEWERS = frozenset({"school_admin", "county_admin", "city_admin", "province_admin",
                       "service"})


def nav_for(role: str) -> tuple[Link, ...]:
    return _NAV.get(role, ())


def home_for(role: str) -> str:
    """Where `/` sends a signed-in user."""
    if role.startswith("school"):
        return "/school"
    if role.startswith("county"):
        return "/review"
    if role == "teacher":
        return "/me"
    return "/dashboard"


def may_plan(role: str) -> bool:
    return role in PLANNERS


def may_apply(role: str) -> bool:
    return role in APPLIERS


def review_level(role: str) -> str | None:
    """The review level a role decides at (None: it only reads)."""
    return {"school_admin": "school", "county_admin": "county", "city_admin": "county",
            "province_admin": "county"}.get(role)
