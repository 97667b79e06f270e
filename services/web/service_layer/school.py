"""The school page's data: one page of a school's current teachers (intake; or those whose
name starts with what the school typed) with their review state (review's queue, paged), and
the teachers' open flags. Review or the flags being unavailable leaves the list usable, with a
note saying what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.web.domain.forms import chinese_message
from services.web.service_layer.backends import Backends
from services.web.service_layer.errors import BackendError, NotAllowed, Unavailable

TEACHER_PAGE = 100  # teachers shown per page of the school page
QUEUE_PAGE = 500  # review's largest page
MAX_PAGES = 20  # 10,000 queue items: more than any school of the province has


@dataclass
class SchoolData:
    teachers: list[dict[str, Any]] = field(default_factory=list)
    queue_items: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more: bool = False  # another page of teachers follows


async def school_data(backends: Backends, token: str, school_code: str, *,
                      name: str = "", page: int = 0) -> SchoolData:
    data = SchoolData()
    # intake's search orders a school's teachers by name, so pages follow the list's order
    found = await backends.intake.search_teachers(token, name or None, school_code=school_code,
                                                  limit=TEACHER_PAGE + 1,
                                                  offset=page * TEACHER_PAGE)
    data.teachers, data.more = found[:TEACHER_PAGE], len(found) > TEACHER_PAGE
    try:
        for n in range(MAX_PAGES):
            queue = await backends.review.queue(token, school_code=school_code,
                                                limit=QUEUE_PAGE, offset=n * QUEUE_PAGE)
            items = list(queue.get("items", []))
            data.queue_items += items
            if len(items) < QUEUE_PAGE or len(data.queue_items) >= int(queue.get("total", 0)):
                break
    except (Unavailable, NotAllowed) as exc:
        data.notes.append(f"审核状态暂不可用：{chinese_message(exc.message)}")
    try:
        data.flags = await backends.intake.school_flags(token, school_code)
    except (Unavailable, NotAllowed) as exc:
        data.notes.append(f"教师反馈暂不可用：{chinese_message(exc.message)}")
    except BackendError:
        data.notes.append("教师反馈暂不可用")
    return data
