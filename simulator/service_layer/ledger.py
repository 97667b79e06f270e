"""What a run learns from the services and must remember: which teacher id intake gave each
planned teacher, the record versions the later steps must name, and each teacher's planned
review, so review's queue items (teacher id + version) can be decided as the plan says.

Kept compact: a whole province is ~370k teachers. Only the few thousand teachers with a later
step (update, transfer, return to post, rejection, departure) keep their full TeacherPlan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.contracts.vocabulary import ReviewLevel
from simulator.domain.model import Fate, Review
from simulator.domain.teachers import TeacherPlan

# The planned end of review, as a small int (a dict of ~370k ints stays small).
TARGET = {Review.SUBMITTED: 0, Review.SCHOOL_APPROVED: 1, Review.COMPLETE: 2}


@dataclass
class Rejection:
    level: ReviewLevel
    reason: str
    fixed: bool = False


@dataclass
class Ledger:
    teacher_ids: dict[str, str] = field(default_factory=dict)  # planned key -> teacher id
    targets: dict[str, int] = field(default_factory=dict)  # teacher id -> TARGET value
    versions: dict[str, int] = field(default_factory=dict)  # teacher id -> stream version
    rejections: dict[str, Rejection] = field(default_factory=dict)  # teacher id -> rejection
    later: list[TeacherPlan] = field(default_factory=list)  # teachers with a later step
    registered: int = 0
    replayed: int = 0  # retried submissions answered with the first answer
    unknown_in_queue: int = 0  # queue items the plan does not know (should stay 0)
    notes: list[str] = field(default_factory=list)

    def learn(self, t: TeacherPlan, teacher_id: str, version: int) -> None:
        self.teacher_ids[t.key] = teacher_id
        self.targets[teacher_id] = TARGET[t.review]
        self.registered += 1
        if needs_later_step(t):
            self.later.append(t)
            self.versions[teacher_id] = version
        if t.rejected_at is not None:
            self.rejections[teacher_id] = Rejection(t.rejected_at, t.rejection_reason or "信息有误")

    def id_of(self, t: TeacherPlan) -> str:
        return self.teacher_ids[t.key]

    def version_of(self, teacher_id: str) -> int:
        return self.versions[teacher_id]

    def decision(self, teacher_id: str, level: ReviewLevel) -> bool | None:
        """True approve, False reject, None leave in the queue, for a record awaiting `level`."""
        target = self.targets.get(teacher_id)
        if target is None:
            self.unknown_in_queue += 1
            return None
        rejection = self.rejections.get(teacher_id)
        if rejection is not None and not rejection.fixed:
            if level is rejection.level:
                return False
            # A county rejection needs the school's approval first.
            return True if level is ReviewLevel.SCHOOL else None
        if level is ReviewLevel.SCHOOL:
            return True if target >= 1 else None
        return True if target >= 2 else None


def needs_later_step(t: TeacherPlan) -> bool:
    return bool(t.change or t.returns_to_post or t.rejected_at or t.retry
                or t.fate in (Fate.TRANSFER, Fate.LEAVE))
