"""Bounds of the paging parameters every API shares.

A value PostgreSQL cannot hold (an offset past int64) is refused at the door as a 422, not
passed to the database to come back as a 500. Ten million rows is far past any list we keep
(a province has about 400,000 teachers), so no real page is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

OFFSET_MAX = 10_000_000
INT64_MAX = 2**63 - 1

Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="rows to skip")]
