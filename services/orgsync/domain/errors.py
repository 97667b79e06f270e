"""The orgsync errors, in the shared hierarchy.

    ValidationProblem
    └── BatchRefused        the batch contradicts itself or the registry (HTTP 422, each issue)
    Conflict
    └── BatchIdReused       the batch id already names a batch with different content (HTTP 409)
"""

from __future__ import annotations

from services.orgsync.domain.model import Issue
from shared.errors import Conflict, ValidationProblem


class BatchRefused(ValidationProblem):
    code = "batch_refused"

    def __init__(self, batch_id: str | None, issues: list[Issue],
                 warnings: list[Issue] | None = None) -> None:
        self.batch_id = batch_id
        self.issues = issues
        self.warnings = warnings or []
        super().__init__([i.as_problem() for i in issues],
                         f"批次 {batch_id or '?'} 被拒绝，共 {len(issues)} 个问题，未做任何修改 "
                         f"(batch refused with {len(issues)} problem(s); nothing was changed)")

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "batch_id": self.batch_id,
                "issues": [i.as_dict() for i in self.issues],
                "warnings": [i.as_dict() for i in self.warnings]}


class BatchIdReused(Conflict):
    code = "batch_id_reused"

    def __init__(self, batch_id: str, state: str, known: str, given: str) -> None:
        self.batch_id = batch_id
        self.known_fingerprint = known
        self.given_fingerprint = given
        super().__init__(
            f"批次号 {batch_id} 已{state}，但内容不同；请使用新的批次号 (batch id {batch_id} was "
            f"already {'applied' if state == '应用' else 'announced'} with different content; "
            "use a new batch id)")

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "batch_id": self.batch_id,
                "known_fingerprint": self.known_fingerprint,
                "given_fingerprint": self.given_fingerprint}
