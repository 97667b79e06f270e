"""Review's refinements of the shared error hierarchy (shared.errors), one per refusal a
reviewer can meet.

    Conflict (409)
    ├── StaleRecord          the decision names a record version that is no longer current
    └── NotAwaitingDecision  the record is not waiting for a decision at this level
    ValidationProblem (422)
    ├── ProofMissing         a transfer / return to post without its proof document
    └── ChecksFailed         a hard core-information check failed
    Rebuilding (503)         the projection is being rebuilt; decisions wait until it is done
"""

from __future__ import annotations

from shared.errors import Conflict, Problem, TmisError, ValidationProblem


class StaleRecord(Conflict):
    code = "stale_record"

    def __init__(self, teacher_id: str, named: int, current: int) -> None:
        self.named = named
        self.current = current
        super().__init__(
            f"teacher {teacher_id}: the decision names record version {named}, but version "
            f"{current} is current; reopen the record and decide again "
            "(记录已变更，请刷新后重新审核)")

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "named_version": self.named,
                "current_version": self.current}


class NotAwaitingDecision(Conflict):
    code = "not_awaiting_decision"


class ProofMissing(ValidationProblem):
    code = "proof_missing"

    def __init__(self, teacher_id: str, kind: str) -> None:
        label = "transfer (省内调动)" if kind == "transfer" else "return to post (返岗)"
        message = (f"teacher {teacher_id}: a {label} cannot be approved without the education "
                   "authority's proof document; ask the school to upload it "
                   "(未上传教育行政部门出具的证明材料，不能审核通过)")
        super().__init__([Problem("proof", message)], message)


class ChecksFailed(ValidationProblem):
    code = "checks_failed"


class Rebuilding(TmisError):
    status_code = 503
    code = "rebuilding"
