"""What the counting rules must see through, planned so that every final count still matches.

- merges (an applied restructuring batch): extra schools holding teachers, merged into a school
  of the same stage and county before the end; the target's entered staff includes them and the
  merged school is no school at the end;
- transfers (省内调动): a teacher registered at A, moved to B; B's final count includes them;
  a few start at a school that has nobody else, so A ends with no teacher in post;
- teachers not in post, some at schools with nobody else (the school must not count);
- leavers (in post, then retired or resigned), one the only teacher of a school;
- returns to post (返岗), updates after registration (one kind flips in post -> not in post,
  another flips full-time), rejections then fixes, registrations retried with the same key;
- an announced restructuring batch that is not applied (the notice's pending 撤并).

Counts stay exact because a school's roster is derived from its end state: stayers =
entered_staff - (transfers in + merged in), and the incoming teachers take the full-time and
review-complete flags first, the stayers the rest.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from shared.contracts.vocabulary import LeaveReason, ReviewLevel, Stage
from simulator.domain.apportion import apportion
from simulator.domain.layout import Layout
from simulator.domain.model import (
    Noise,
    RestructuringBatch,
    RestructuringOp,
    Review,
    Role,
    SchoolPlan,
    TransferPlan,
)

UPDATE_FIELDS = ("professional_title", "highest_education", "political_status",
                 "is_fulltime_teacher")


@dataclass(frozen=True)
class NoiseRates:
    """How much noise, as shares of the entered staff (each clamped to [low, high])."""

    not_in_post: tuple[float, int, int] = (0.004, 6, 2000)
    leavers: tuple[float, int, int] = (0.001, 3, 500)
    transfers: tuple[float, int, int] = (0.0006, 3, 300)
    returns: tuple[float, int, int] = (0.0002, 2, 100)
    updates: tuple[float, int, int] = (0.002, 4, 800)
    rejections: tuple[float, int, int] = (0.001, 3, 400)
    retries: tuple[float, int, int] = (0.0005, 2, 200)
    empty_schools: int = 5  # schools not entered whose only teachers are not in post
    merges_big: int = 2  # merged-away schools in kindergarten and primary
    merges_other: int = 1  # in each other stage
    pending_per_stage: int = 2  # announced restructurings per stage (other profiles)

    def count(self, name: str, staff: int) -> int:
        rate, low, high = getattr(self, name)
        return 0 if staff <= 0 else max(low, min(high, round(rate * staff)))


@dataclass
class Incoming:
    """Teachers arriving at a school: merged-in movers first, then transfers."""

    merged: list[SchoolPlan] = field(default_factory=list)  # one entry per mover
    transfers: list[int] = field(default_factory=list)  # indexes into the pair list

    def __len__(self) -> int:
        return len(self.merged) + len(self.transfers)


class NoisePlanner:
    def __init__(self, rng: random.Random, layout: Layout, schools: list[SchoolPlan],
                 entered: set[str], protected: set[str], rates: NoiseRates, seed: int,
                 reference: date) -> None:
        self.rng = rng
        self.layout = layout
        self.schools = schools
        self.entered = entered
        self.protected = protected  # named schools: not closed, not used as plain noise
        self.rates = rates
        self.seed = seed
        self.reference = reference
        self.staff = sum(s.entered_staff for s in schools)
        self.incoming: dict[str, Incoming] = {}
        self.pairs: list[tuple[SchoolPlan, SchoolPlan]] = []
        self.flags: list[tuple[bool, Review]] = []  # per pair, set in rosters()
        self.used_empty: set[str] = set()
        self.notes: list[str] = []

    # ------------------------------------------------------------------ helpers

    def _entered(self, stage: Stage | None = None) -> list[SchoolPlan]:
        return [s for s in self.schools if s.role is Role.REGULAR and s.entered_staff > 0
                and (stage is None or s.stage is stage)]

    def _unentered(self) -> list[SchoolPlan]:
        """Schools of the profile with no teacher in post at the end, not yet used as noise."""
        return [s for s in self.schools if s.role is Role.REGULAR and s.entered_staff == 0
                and s.code not in self.protected and s.code not in self.used_empty]

    def _room(self, s: SchoolPlan) -> int:
        """Arrivals a school can still take and keep one teacher of its own."""
        return s.entered_staff - 1 - len(self.incoming.get(s.code, Incoming()))

    def _weighted(self, schools: Sequence[SchoolPlan], k: int,
                  weight: str = "entered_staff") -> list[SchoolPlan]:
        if not schools or k <= 0:
            return []
        return self.rng.choices(list(schools), weights=[getattr(s, weight) for s in schools],
                                k=k)

    # ------------------------------------------------------------------ merges

    def merges(self, stages: Sequence[Stage]) -> RestructuringBatch | None:
        ops: list[RestructuringOp] = []
        for stage in stages:
            want = self.rates.merges_big if stage in (Stage.KINDERGARTEN, Stage.PRIMARY) \
                else self.rates.merges_other
            targets = [s for s in self._entered(stage) if not s.is_teaching_point
                       and s.entered_staff >= 3 and s.code not in self.protected]
            for target in self.rng.sample(targets, min(want, len(targets))):
                movers = min(3, target.entered_staff - 1)
                county = self.layout.by_code[target.county_code]
                merged = self.layout.county_school(county, stage, False, role=Role.MERGED)
                merged.merged_into = target.code
                merged.stay = movers
                merged.not_in_post = 1 if len(ops) % 2 == 0 else 0
                self.schools.append(merged)
                self.incoming.setdefault(target.code, Incoming()).merged += [merged] * movers
                ops.append(RestructuringOp("merge", merged.code, target.code))
        if not ops:
            self.notes.append("no school had enough teachers to plan a merge")
            return None
        return RestructuringBatch(f"sim-{self.seed}-merges", self.reference - timedelta(days=45),
                                  True, tuple(ops))

    # ------------------------------------------------------------------ transfers

    def transfers(self) -> None:
        n = self.rates.count("transfers", self.staff)
        by_stage: dict[Stage, list[SchoolPlan]] = {}
        for s in self._entered():
            by_stage.setdefault(s.stage, []).append(s)
        stages = [st for st, group in by_stage.items() if len(group) >= 2]
        if not stages:
            self.notes.append("no stage has two entered schools: no transfers planned")
            return
        lonely = self._unentered()
        for i in range(n * 3):
            if len(self.pairs) >= n:
                break
            stage = self.rng.choice(stages)
            group = by_stage[stage]
            to = self.rng.choice(group)
            if self._room(to) < 1:
                continue
            if i == 0 and lonely:
                # One teacher registered at an otherwise empty school, transferred away:
                # the school holds a record but no teacher in post at the end.
                origin = self.rng.choice(lonely)
                self.used_empty.add(origin.code)
            else:
                r = self.rng.random()
                near = [s for s in group if s.code != to.code and (
                    s.county_code == to.county_code if r < 0.8 else
                    s.city_code == to.city_code if r < 0.95 else True)]
                if not near:
                    continue
                origin = self.rng.choice(near)
            self.incoming.setdefault(to.code, Incoming()).transfers.append(len(self.pairs))
            self.pairs.append((origin, to))

    # ------------------------------------------------------------------ not in post, leavers

    def not_in_post_and_leavers(self, named_empty: SchoolPlan | None) -> tuple[
            tuple[str, ...], tuple[str, ...]]:
        empties: list[SchoolPlan] = []
        pool = self._unentered()
        for s in self.rng.sample(pool, min(self.rates.empty_schools, len(pool))):
            s.not_in_post = self.rng.choice((1, 2))
            empties.append(s)
            self.used_empty.add(s.code)
        if named_empty is not None:
            named_empty.not_in_post = 1
            empties.append(named_empty)
        if not empties and self._entered():
            # Every school is entered: add one that holds only a teacher not in post.
            extra = self._extra_school()
            extra.not_in_post = 1
            empties.append(extra)
        placed = sum(s.not_in_post for s in empties)
        for s in self._weighted(self._entered(), self.rates.count("not_in_post", self.staff)
                                - placed):
            s.not_in_post += 1
        lone: list[SchoolPlan] = []
        pool = self._unentered()
        if pool or self._entered():
            s = self.rng.choice(pool) if pool else self._extra_school()
            s.leavers = 1
            self.used_empty.add(s.code)
            lone.append(s)
        for s in self._weighted(self._entered(), self.rates.count("leavers", self.staff)
                                - len(lone)):
            s.leavers += 1
        return tuple(s.code for s in empties), tuple(s.code for s in lone)

    def _extra_school(self) -> SchoolPlan:
        """A school beyond the profile's, like an entered one, for teachers who never count
        (when every school of the profile ends with a teacher in post)."""
        like = self.rng.choice(self._entered())
        extra = self.layout.county_school(self.layout.by_code[like.county_code], like.stage,
                                          False, role=Role.EXTRA)
        self.schools.append(extra)
        return extra

    # ------------------------------------------------------------------ rosters

    def rosters(self) -> tuple[TransferPlan, ...]:
        """Stayers per school and the flags of everyone arriving, so the end state is exact."""
        transfer_flags: dict[int, tuple[bool, Review]] = {}
        mover_flags: dict[str, list[tuple[bool, bool]]] = {}
        for s in self.schools:
            if s.role is Role.MERGED:
                continue
            inc = self.incoming.get(s.code, Incoming())
            arrivals = len(inc)
            s.stay = s.entered_staff - arrivals
            if s.stay < 0:
                raise AssertionError(f"internal: {s.code} receives more teachers than it ends with")
            ft_in = min(arrivals, s.entered_fulltime)
            done_in = min(arrivals, s.review_complete)
            s.stay_fulltime = s.entered_fulltime - ft_in
            s.stay_review_complete = s.review_complete - done_in
            j = 0
            for merged in inc.merged:
                mover_flags.setdefault(merged.code, []).append((j < ft_in, j < done_in))
                j += 1
            for pair in inc.transfers:
                review = Review.COMPLETE if j < done_in else self.rng.choice(
                    (Review.SCHOOL_APPROVED, Review.SUBMITTED))
                transfer_flags[pair] = (j < ft_in, review)
                j += 1
        for s in self.schools:
            if s.role is Role.MERGED:
                flags = mover_flags[s.code]
                s.stay_fulltime = sum(1 for ft, _ in flags if ft)
                s.stay_review_complete = sum(1 for _, done in flags if done)
        out: dict[str, list[TransferPlan]] = {}
        plans: list[TransferPlan] = []
        for i, (origin, to) in enumerate(self.pairs):
            mine = out.setdefault(origin.code, [])
            key = origin.key(origin.stay + len(mine))
            ft, review = transfer_flags[i]
            plan = TransferPlan(key, origin.code, to.code, ft, review)
            mine.append(plan)
            plans.append(plan)
        by_code = {s.code: s for s in self.schools}
        for code, mine in out.items():
            by_code[code].transfers_out = tuple(mine)
        return tuple(plans)

    # ------------------------------------------------------------------ teacher-level noise

    def teacher_noise(self, empties: tuple[str, ...], lone: tuple[str, ...]) -> Noise:
        stayers = [s for s in self.schools if s.role is Role.REGULAR and s.stay > 0]
        cum = list(accumulate(s.stay for s in stayers))
        used: set[str] = set()

        def pick(n: int) -> list[str]:
            """n distinct stayers, schools drawn by their number of stayers."""
            keys: list[str] = []
            if not stayers:
                return keys
            for s in self.rng.choices(stayers, cum_weights=cum, k=n * 3):
                key = s.key(self.rng.randrange(s.stay))
                if key not in used:
                    used.add(key)
                    keys.append(key)
                    if len(keys) == n:
                        break
            return keys

        returns = pick(self.rates.count("returns", self.staff))
        updates = {k: UPDATE_FIELDS[i % len(UPDATE_FIELDS)]
                   for i, k in enumerate(pick(self.rates.count("updates", self.staff)))}
        levels = (ReviewLevel.SCHOOL, ReviewLevel.COUNTY)
        rejections = {k: levels[i % 2]
                      for i, k in enumerate(pick(self.rates.count("rejections", self.staff)))}
        retries = pick(self.rates.count("retries", self.staff))
        reasons: dict[str, LeaveReason] = {}
        not_in_post: list[str] = []
        for s in self.schools:
            first = s.stay + len(s.transfers_out)
            for j in range(s.leavers):
                reasons[s.key(first + j)] = self.rng.choices(
                    (LeaveReason.RETIRED, LeaveReason.RESIGNED, LeaveReason.LEFT_PROVINCE),
                    weights=(6, 3, 1))[0]
            if s.entered_staff > 0:
                not_in_post += [s.key(first + s.leavers + j) for j in range(s.not_in_post)]
        # A few teachers registered in post and updated to not in post: a rule that counts
        # the registered status, not the current one, shows.
        for key in self.rng.sample(not_in_post, min(len(not_in_post),
                                                     max(1, len(not_in_post) // 10))):
            updates[key] = "post_status"
        touched = frozenset(retries) | frozenset(returns) | updates.keys() | rejections.keys()
        return Noise(retries=frozenset(retries), updates=updates, rejections=rejections,
                     returns=frozenset(returns), leave_reasons=reasons,
                     empty_school_not_in_post=empties, lone_leaver_schools=lone,
                     touched=touched)

    # ------------------------------------------------------------------ pending restructurings

    def pending(self, groups: Sequence[tuple[tuple[Stage, ...], int]]
                ) -> RestructuringBatch | None:
        """Announced, not applied: close or merge schools that hold no teacher at all."""
        ops: list[RestructuringOp] = []
        idle = [s for s in self.schools if s.role is Role.REGULAR and s.registered == 0
                and s.code not in self.protected and s.entered_staff == 0]
        targets: dict[tuple[Stage, str], list[SchoolPlan]] = {}
        for s in self._entered():
            targets.setdefault((s.stage, s.county_code), []).append(s)
        for stages, want in groups:
            pools = [[s for s in idle if s.stage is st] for st in stages]
            sizes = [len(p) for p in pools]
            if sum(sizes) < want:
                self.notes.append(f"only {sum(sizes)} idle schools for {want} pending "
                                  f"restructurings of {'/'.join(st.value for st in stages)}")
                want = sum(sizes)
            for pool, k in zip(pools, apportion(want, [float(n) for n in sizes], caps=sizes),
                               strict=True):
                for s in self.rng.sample(pool, k):
                    into = targets.get((s.stage, s.county_code))
                    if into and self.rng.random() < 0.35:
                        ops.append(RestructuringOp("merge", s.code, self.rng.choice(into).code))
                    else:
                        ops.append(RestructuringOp("close", s.code))
        if not ops:
            return None
        return RestructuringBatch(f"sim-{self.seed}-pending",
                                  self.reference + timedelta(days=85), False, tuple(ops))
