"""Plan a restructuring batch against the registry: what would change, and every problem.

`plan(batch, snapshot)` is pure. It checks the batch against itself first (two conflicting
operations on one school, a merge into itself, into a school the batch closes or merges away,
cycles), then replays the operations in file order on a copy-on-write view of the registry
(so "open X" followed by "merge A into X" is valid, the reverse order is not), and finally
works out the counts per county and stage before and after. A plan with any problem is refused
as a whole; warnings only inform.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from services.orgsync.domain.model import (
    TERMINAL_OPS,
    Batch,
    CountKey,
    Counts,
    Issue,
    IssueKind,
    RegistrySnapshot,
    sort_issues,
)
from shared.contracts.events import RestructuringOperation, SchoolProfile
from shared.contracts.vocabulary import LABELS, ReportingLine, Stage
from shared.domain.divisions import divisions

OP_LABELS: dict[str, str] = {
    "merge": "合并", "close": "撤销", "open": "新设", "rename": "更名", "restage": "变更学段",
    "change_reporting_line": "变更隶属关系", "move_county": "划转县区",
}
PROFILE_FIELDS = frozenset({"name", "stage", "is_teaching_point", "county_code", "city_code",
                            "reporting_line", "is_rural"})
STAGE_ORDER = {s: i for i, s in enumerate(Stage)}


@dataclass(frozen=True)
class SchoolChange:
    """What one operation does to its school."""

    line: int
    op: str
    school_code: str
    target_code: str | None
    before: SchoolProfile | None  # None: the batch opens the school
    after: SchoolProfile | None  # None: the school closes
    teachers_moved: int = 0


@dataclass(frozen=True)
class TeacherMove:
    """Teachers who follow their school to the target of a merge (or of a close)."""

    line: int
    from_code: str
    to_code: str
    teachers: int  # every teacher attached to the school who has not left
    in_post: int  # of whom in post (在本单位任职)


@dataclass(frozen=True)
class CountChange:
    county_code: str
    stage: Stage
    before: Counts
    after: Counts


@dataclass(frozen=True)
class FinalSchool:
    """A school's state after the batch, for every school an operation changed."""

    code: str
    profile: SchoolProfile
    open: bool
    merged_into: str | None
    opened: bool  # the batch opened it


@dataclass
class Plan:
    batch: Batch
    changes: list[SchoolChange] = field(default_factory=list)
    moves: list[TeacherMove] = field(default_factory=list)
    counts: list[CountChange] = field(default_factory=list)
    final: dict[str, FinalSchool] = field(default_factory=dict)
    problems: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def teachers_to_move(self) -> int:
        return sum(m.teachers for m in self.moves)

    @property
    def in_post_to_move(self) -> int:
        return sum(m.in_post for m in self.moves)

    def operations_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for op in self.batch.operations:
            out[op.op] = out.get(op.op, 0) + 1
        return out

    def stage_deltas(self) -> dict[Stage, Counts]:
        """The province-wide change per stage (the sum of the county rows)."""
        out: dict[Stage, Counts] = {}
        for row in self.counts:
            out[row.stage] = out.get(row.stage, Counts()) + (row.after - row.before)
        return out

    def as_dict(self) -> dict[str, Any]:
        names = divisions().counties
        return {
            "batch_id": self.batch.batch_id,
            "effective_date": self.batch.effective_date.isoformat(),
            "fingerprint": self.batch.fingerprint(),
            "ok": self.ok,
            "operations": len(self.batch.operations),
            "operations_by_kind": self.operations_by_kind(),
            "teachers_to_move": self.teachers_to_move,
            "in_post_to_move": self.in_post_to_move,
            "changes": [{
                "line": c.line, "op": c.op, "op_label": OP_LABELS[c.op],
                "school_code": c.school_code, "target_code": c.target_code,
                "before": c.before.model_dump(mode="json") if c.before else None,
                "after": c.after.model_dump(mode="json") if c.after else None,
                "teachers_moved": c.teachers_moved,
            } for c in self.changes],
            "moves": [{"line": m.line, "from": m.from_code, "to": m.to_code,
                       "teachers": m.teachers, "in_post": m.in_post} for m in self.moves],
            "counts": [{
                "county_code": r.county_code,
                "county_name": names[r.county_code].name if r.county_code in names else None,
                "city_code": names[r.county_code].city_code if r.county_code in names else None,
                "stage": r.stage.value, "stage_label": LABELS[r.stage],
                "before": r.before.as_dict(), "after": r.after.as_dict(),
            } for r in self.counts],
            "by_stage": [{"stage": s.value, "stage_label": LABELS[s], "delta": d.as_dict()}
                         for s, d in sorted(self.stage_deltas().items(),
                                            key=lambda kv: STAGE_ORDER[kv[0]])],
            "problems": [i.as_dict() for i in self.problems],
            "warnings": [i.as_dict() for i in self.warnings],
        }


@dataclass
class _Sim:
    """A school while the batch is replayed on it."""

    code: str
    profile: SchoolProfile
    open: bool
    in_post: int
    attached: int
    in_registry: bool
    closed_by_line: int | None = None
    merged_into: str | None = None


def plan(batch: Batch, snapshot: RegistrySnapshot, *, issues: list[Issue] | None = None
         ) -> Plan:
    """What `batch` would do to the registry of `snapshot`. `issues` found earlier (parsing)
    are carried into the plan's problems."""
    return _Planner(batch, snapshot, list(issues or ())).run()


class _Planner:
    def __init__(self, batch: Batch, snapshot: RegistrySnapshot, issues: list[Issue]) -> None:
        self.batch = batch
        self.snapshot = snapshot
        self.problems = issues
        self.warnings: list[Issue] = []
        self.sim: dict[str, _Sim] = {}
        self.dirty: dict[str, None] = {}  # schools an operation changed, in order
        self.result = Plan(batch)
        self.open_lines: dict[str, list[int]] = defaultdict(list)
        for op in batch.operations:
            if op.op == "open":
                self.open_lines[op.school_code].append(op.line)

    def run(self) -> Plan:
        ops = self.batch.operations
        self._check_conflicts(ops)
        self._check_targets(ops)
        self._check_cycles(ops)
        for op in ops:
            getattr(self, f"_op_{op.op}")(op)
        self.result.counts = self._counts()
        self.result.final = {
            code: FinalSchool(code, s.profile, s.open, s.merged_into, not s.in_registry)
            for code, s in ((c, self.sim[c]) for c in self.dirty)}
        self.result.problems = sort_issues(self.problems)
        self.result.warnings = sort_issues(self.warnings)
        return self.result

    # ------------------------------------------------------------------ the batch against itself

    def _check_conflicts(self, ops: tuple[RestructuringOperation, ...]) -> None:
        """A school may be the subject of several operations only when they set different
        fields; an operation that ends the school (merge, close) allows no other."""
        seen: dict[str, list[tuple[RestructuringOperation, frozenset[str]]]] = defaultdict(list)
        for op in ops:
            touched = _touched_fields(op)
            for prev, prev_touched in seen[op.school_code]:
                ends = op.op in TERMINAL_OPS or prev.op in TERMINAL_OPS
                if ends or touched & prev_touched:
                    why = ("一所学校被合并或撤销后不能再有其他操作 (a school that is merged or "
                           "closed can have no other operation)" if ends else
                           f"两个操作都修改 {', '.join(sorted(touched & prev_touched))} (both "
                           "set the same field)")
                    self._problem(IssueKind.CONFLICT, op, "school_code",
                                  f"学校 {op.school_code} 第 {prev.line} 行已有"
                                  f"{OP_LABELS[prev.op]}操作，与本行{OP_LABELS[op.op]}冲突: {why}")
                    break
            seen[op.school_code].append((op, touched))

    def _check_targets(self, ops: tuple[RestructuringOperation, ...]) -> None:
        ending: dict[str, RestructuringOperation] = {}
        for op in ops:
            if op.op in TERMINAL_OPS:
                ending.setdefault(op.school_code, op)
        for op in ops:
            if not op.target_code:
                continue
            if op.target_code == op.school_code:
                self._problem(IssueKind.SELF_MERGE, op, "target_code",
                              f"学校 {op.school_code} 不能并入自身 (a school cannot be merged "
                              "into itself)")
            elif op.target_code in ending:
                end = ending[op.target_code]
                self._problem(IssueKind.TARGET_LEAVES, op, "target_code",
                              f"目标学校 {op.target_code} 在本批次第 {end.line} 行被"
                              f"{OP_LABELS[end.op]} (the target is {end.op}d by this batch)")

    def _check_cycles(self, ops: tuple[RestructuringOperation, ...]) -> None:
        edges: dict[str, tuple[str, int]] = {}
        for op in ops:
            if op.op in TERMINAL_OPS and op.target_code and op.target_code != op.school_code:
                edges.setdefault(op.school_code, (op.target_code, op.line))
        done: set[str] = set()
        for start in edges:
            path: list[str] = []
            at: dict[str, int] = {}
            node = start
            while node in edges and node not in done and node not in at:
                at[node] = len(path)
                path.append(node)
                node = edges[node][0]
            if node in at:
                cycle = path[at[node]:]
                lines = sorted(edges[n][1] for n in cycle)
                chain = " → ".join([*cycle, cycle[0]])
                self.problems.append(Issue(
                    IssueKind.CYCLE, f"合并形成环路 {chain} (第 {', '.join(map(str, lines))} 行; "
                    "merges form a cycle)", lines[0], "target_code"))
            done.update(path)

    # ------------------------------------------------------------------ replay, in file order

    def _op_open(self, op: RestructuringOperation) -> None:
        existing = self._school(op.school_code)
        if existing is not None:
            if existing.in_registry:
                state = "在办" if existing.open else "已撤销"
                self._problem(IssueKind.CODE_EXISTS, op, "school_code",
                              f"学校代码 {op.school_code} 已存在 ({existing.profile.name}, "
                              f"{state}) (the code is already in the registry)")
            return  # opened twice in this batch: reported as a conflict
        assert op.name and op.stage and op.county_code and op.city_code  # parsing ensured it
        profile = SchoolProfile(
            name=op.name, stage=op.stage, is_teaching_point=bool(op.is_teaching_point),
            county_code=op.county_code, city_code=op.city_code,
            reporting_line=op.reporting_line or ReportingLine.COUNTY, is_rural=bool(op.is_rural))
        self.sim[op.school_code] = _Sim(op.school_code, profile, True, 0, 0, in_registry=False)
        self.dirty[op.school_code] = None
        self.result.changes.append(SchoolChange(op.line, op.op, op.school_code, None, None,
                                                profile))

    def _op_merge(self, op: RestructuringOperation) -> None:
        self._end(op)

    def _op_close(self, op: RestructuringOperation) -> None:
        self._end(op)

    def _end(self, op: RestructuringOperation) -> None:
        """Merge, or close (with or without a target): the school closes; with a target its
        teachers follow it there."""
        school = self._subject(op)
        target = self._target(op) if op.target_code else None
        if school is None or op.target_code == op.school_code or (op.target_code and not target):
            return
        moved = in_post = 0
        if target is not None:
            moved, in_post = school.attached, school.in_post
            target.attached += moved
            target.in_post += in_post
            self.result.moves.append(TeacherMove(op.line, school.code, target.code, moved,
                                                 in_post))
            self._warn_across(op, school, target)
        elif school.in_post:
            self._problem(IssueKind.TEACHERS_IN_POST, op, "target_code",
                          f"学校 {op.school_code} 还有 {school.in_post} 名在岗教师，撤销时须指定"
                          "接收学校 target_code (close needs a target while teachers are in post)")
        elif school.attached:
            self._warn(IssueKind.TEACHERS_LEFT_BEHIND, op, "school_code",
                       f"学校 {op.school_code} 有 {school.attached} 名不在岗教师仍属于该校 "
                       "(teachers not in post stay with the closed school)")
        school.open = False
        school.closed_by_line = op.line
        # As intake records it: `merged_into` names the target of a merge only; a close with a
        # target moves the teachers but is a closure (SchoolClosed.merged_into stays empty).
        school.merged_into = target.code if target and op.op == "merge" else None
        if target is not None:
            school.in_post = school.attached = 0
        self.dirty[school.code] = None
        self.result.changes.append(SchoolChange(op.line, op.op, op.school_code, op.target_code,
                                                school.profile, None, moved))

    def _op_rename(self, op: RestructuringOperation) -> None:
        self._modify(op, {"name": op.name})

    def _op_restage(self, op: RestructuringOperation) -> None:
        school = self._school(op.school_code)
        keep_point = bool(school and school.profile.is_teaching_point and op.stage is Stage.PRIMARY)
        point = op.is_teaching_point if op.is_teaching_point is not None else keep_point
        self._modify(op, {"stage": op.stage, "is_teaching_point": point})

    def _op_change_reporting_line(self, op: RestructuringOperation) -> None:
        self._modify(op, {"reporting_line": op.reporting_line})

    def _op_move_county(self, op: RestructuringOperation) -> None:
        update: dict[str, Any] = {"county_code": op.county_code, "city_code": op.city_code}
        if op.is_rural is not None:
            update["is_rural"] = op.is_rural
        self._modify(op, update)

    def _modify(self, op: RestructuringOperation, update: dict[str, Any]) -> None:
        school = self._subject(op)
        if school is None:
            return
        before = school.profile
        after = before.model_copy(update=update)
        if after == before:
            self._warn(IssueKind.NO_CHANGE, op, "school_code",
                       f"学校 {op.school_code} 已是该状态，本行不改变任何内容 (changes nothing)")
        school.profile = after
        self.dirty[school.code] = None
        self.result.changes.append(SchoolChange(op.line, op.op, op.school_code, None, before,
                                                after))

    # ------------------------------------------------------------------ lookups

    def _school(self, code: str) -> _Sim | None:
        """The school as the replay has it so far (copied from the snapshot on first use)."""
        if code in self.sim:
            return self.sim[code]
        state = self.snapshot.schools.get(code)
        if state is None:
            return None
        sim = _Sim(code, state.profile, state.open, state.in_post, state.attached, True,
                   merged_into=state.merged_into)
        self.sim[code] = sim
        return sim

    def _subject(self, op: RestructuringOperation) -> _Sim | None:
        return self._existing(op, op.school_code, "school_code", IssueKind.SCHOOL_CLOSED)

    def _target(self, op: RestructuringOperation) -> _Sim | None:
        assert op.target_code
        return self._existing(op, op.target_code, "target_code", IssueKind.TARGET_CLOSED)

    def _existing(self, op: RestructuringOperation, code: str, where: str,
                  closed_kind: IssueKind) -> _Sim | None:
        school = self._school(code)
        if school is None:
            later = [n for n in self.open_lines.get(code, ()) if n > op.line]
            hint = (f"; 它在第 {later[0]} 行才新设，请把新设放在前面 (it is opened only later: "
                    "put the open first)" if later else " (unknown school code)")
            self._problem(IssueKind.UNKNOWN_SCHOOL, op, where, f"学校代码 {code} 不存在{hint}")
            return None
        if not school.open:
            if school.closed_by_line is None:  # closed in the registry, not by this batch
                merged = f"，已并入 {school.merged_into}" if school.merged_into else ""
                who = "目标学校" if where == "target_code" else "学校"
                self._problem(closed_kind, op, where,
                              f"{who} {code} ({school.profile.name}) 已撤销{merged} "
                              "(the school is already closed)")
            return None
        return school

    # ------------------------------------------------------------------ counts

    def _counts(self) -> list[CountChange]:
        delta: dict[CountKey, Counts] = defaultdict(Counts)
        for code, sim in self.sim.items():
            state = self.snapshot.schools.get(code)
            if state is not None:
                for key, c in _contribution(state.profile, state.open, state.in_post):
                    delta[key] = delta[key] - c
            for key, c in _contribution(sim.profile, sim.open, sim.in_post):
                delta[key] = delta[key] + c
        rows = []
        for key, d in delta.items():
            if d == Counts():
                continue
            before = self.snapshot.counts.get(key, Counts())
            rows.append(CountChange(key[0], key[1], before, before + d))
        rows.sort(key=lambda r: (r.county_code, STAGE_ORDER[r.stage]))
        return rows

    # ------------------------------------------------------------------ issues

    def _problem(self, kind: IssueKind, op: RestructuringOperation, where: str,
                 message: str) -> None:
        self.problems.append(Issue(kind, message, op.line, where))

    def _warn(self, kind: IssueKind, op: RestructuringOperation, where: str,
              message: str) -> None:
        self.warnings.append(Issue(kind, message, op.line, where))

    def _warn_across(self, op: RestructuringOperation, school: _Sim, target: _Sim) -> None:
        a, b = school.profile, target.profile
        if a.stage != b.stage:
            self._warn(IssueKind.CROSS_STAGE_MERGE, op, "target_code",
                       f"{LABELS[a.stage]} {school.code} 并入{LABELS[b.stage]} {target.code} "
                       "(merge across stages)")
        if a.county_code != b.county_code:
            self._warn(IssueKind.CROSS_COUNTY_MERGE, op, "target_code",
                       f"跨县区合并: {a.county_code} → {b.county_code} (merge across counties)")


def _touched_fields(op: RestructuringOperation) -> frozenset[str]:
    if op.op == "open":
        return PROFILE_FIELDS | {"existence"}
    if op.op in TERMINAL_OPS:
        return frozenset({"existence"})
    if op.op == "rename":
        return frozenset({"name"})
    if op.op == "restage":
        return frozenset({"stage", "is_teaching_point"})
    if op.op == "change_reporting_line":
        return frozenset({"reporting_line"})
    extra = {"is_rural"} if op.is_rural is not None else set()
    return frozenset({"county_code", "city_code", *extra})


def _contribution(profile: SchoolProfile, is_open: bool, in_post: int
                  ) -> list[tuple[CountKey, Counts]]:
    if not is_open:
        return []
    return [((profile.county_code, profile.stage),
             Counts(schools=1, entered=1 if in_post > 0 else 0,
                    teaching_points=1 if profile.is_teaching_point else 0, staff=in_post))]
