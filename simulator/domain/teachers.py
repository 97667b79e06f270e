"""The teachers registered at a school, generated on demand from a per-school seed.

The roster of a school is laid out by its plan: stayers first (in post at the end, here or at
the merge target), then teachers transferred away, leavers, and teachers not in post. The same
plan and school always give the same records, so a driver can stream the province school by
school and a test can tally it, without holding ~365k records at once.

ID numbers (GB 11643, synthetic: sequence 900-999 like shared.domain.idnumber's generator) are
unique in the province by construction, not by luck: the county code is the area code, and the
k-th teacher registered in a county gets sequence slot k % 50 and a birth date whose day offset
is congruent to k // 50 modulo the county's block count. Two teachers of a county with the same
slot are in different blocks, hence born on different days.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from shared.contracts.vocabulary import LeaveReason, PostStatus, ReviewLevel, Stage
from simulator.domain.model import Fate, ProvincePlan, Review, SchoolPlan
from simulator.domain.names import person_name

SLOTS = 50  # sequences 900..999: one odd (male) and one even (female) number per slot
MIN_AGE, MAX_AGE = 22, 60

FEMALE_SHARE = {Stage.KINDERGARTEN: 0.95, Stage.PRIMARY: 0.65, Stage.JUNIOR: 0.55,
                Stage.SENIOR: 0.5, Stage.SPECIAL: 0.7, Stage.VOCATIONAL: 0.5,
                Stage.HIGHER: 0.48}
QUALIFICATION = {Stage.KINDERGARTEN: "幼儿园教师资格", Stage.PRIMARY: "小学教师资格",
                 Stage.JUNIOR: "初级中学教师资格", Stage.SENIOR: "高级中学教师资格",
                 Stage.SPECIAL: "小学教师资格", Stage.VOCATIONAL: "中等职业学校教师资格",
                 Stage.HIGHER: "高等学校教师资格"}
EDUCATION = ("博士研究生", "硕士研究生", "大学本科", "大学专科", "高中阶段毕业")
EDUCATION_WEIGHTS = {Stage.KINDERGARTEN: (0, 1, 30, 50, 19), Stage.PRIMARY: (0, 2, 50, 42, 6),
                     Stage.JUNIOR: (0, 6, 80, 13, 1), Stage.SENIOR: (1, 12, 85, 2, 0),
                     Stage.SPECIAL: (0, 3, 60, 35, 2), Stage.VOCATIONAL: (1, 10, 75, 13, 1),
                     Stage.HIGHER: (25, 45, 30, 0, 0)}
SCHOOL_TITLES = ("三级教师", "二级教师", "一级教师", "高级教师", "正高级教师")
HIGHER_TITLES = ("助教", "讲师", "副教授", "教授")
POLITICAL = ("中国共产党党员", "中国共产主义青年团团员", "群众")
PARTY, LEAGUE = POLITICAL[0], POLITICAL[1]
ETHNIC_MIX: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "622900": (("汉族", "回族", "东乡族", "撒拉族", "保安族"), (45, 35, 15, 3, 2)),
    "623000": (("汉族", "藏族", "回族"), (45, 50, 5)),
}
COUNTY_MIX: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "620525": (("汉族", "回族"), (40, 60)),
    "620623": (("汉族", "藏族", "土族"), (65, 30, 5)),
    "620721": (("汉族", "裕固族", "藏族"), (70, 22, 8)),
    "620923": (("汉族", "蒙古族"), (78, 22)),
    "620924": (("汉族", "哈萨克族"), (82, 18)),
}
DEFAULT_MIX = (("汉族", "回族", "藏族", "满族"), (96, 3, 0, 1))
REJECTION_REASONS: dict[str, str] = {"teacher_qualification": "教师资格信息缺失，请补充",
                     "highest_education": "最高学历与证书不符，请核实"}


@dataclass(slots=True)
class TeacherPlan:
    """One teacher: the record as first submitted, what changes later, and where they end."""

    key: str
    school_code: str  # where registered
    final_school: str | None  # where they are at the end (None: left the province's schools)
    fate: Fate
    name: str
    id_number: str
    gender: str
    birth_date: date
    ethnicity: str
    political_status: str | None
    post_status: PostStatus  # as registered
    is_fulltime_teacher: bool  # as registered
    stage_taught: Stage | None
    hire_date: date
    highest_education: str | None
    professional_title: str | None
    teacher_qualification: str | None
    change: tuple[str, object, object] | None = None  # field, as registered, final
    rejected_at: ReviewLevel | None = None  # rejected there first; `change` is the fix
    rejection_reason: str | None = None
    review: Review = Review.SUBMITTED  # at the end
    retry: bool = False
    returns_to_post: bool = False
    leave_reason: LeaveReason | None = None

    def final(self, field_name: str) -> object:
        if self.change is not None and self.change[0] == field_name:
            return self.change[2]
        return getattr(self, field_name)

    @property
    def counts(self) -> bool:
        """In post at the end (at `final_school`)."""
        return self.fate in (Fate.STAY, Fate.TRANSFER)

    @property
    def counts_fulltime(self) -> bool:
        return self.counts and bool(self.final("is_fulltime_teacher"))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def birth_window(reference: date) -> tuple[date, int]:
    """The latest birth date for the youngest teacher and the window's length in days."""
    latest = add_years(reference, -MIN_AGE)
    earliest = add_years(reference, -(MAX_AGE + 1)) + timedelta(days=1)
    return latest, (latest - earliest).days + 1


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643
ID_CHECK = "10X98765432"


def id_number(area: str, birth: date, slot: int, gender: str) -> str:
    """A checksum-valid number; the same check as shared.domain.idnumber.check_char, computed
    from memoised per-part digit sums because it runs ~370k times per province."""
    seq = 900 + 2 * slot + (1 if gender == "male" else 0)
    born, born_sum = _part(birth.toordinal(), 6)
    tail, tail_sum = _part(seq, 14)
    area_sum = _part_of(area, 0)
    return f"{area}{born}{tail}{ID_CHECK[(area_sum + born_sum + tail_sum) % 11]}"


_PARTS: dict[tuple[int, int], tuple[str, int]] = {}
_AREAS: dict[str, int] = {}


def _part(value: int, start: int) -> tuple[str, int]:
    """A birth day (ordinal, at 6) or sequence (at 14): its digits and their weighted sum."""
    hit = _PARTS.get((value, start))
    if hit is None:
        digits = f"{date.fromordinal(value):%Y%m%d}" if start == 6 else f"{value:03d}"
        hit = _PARTS[(value, start)] = (digits, _weighted_sum(digits, start))
    return hit


def _part_of(area: str, start: int) -> int:
    hit = _AREAS.get(area)
    if hit is None:
        hit = _AREAS[area] = _weighted_sum(area, start)
    return hit


def _weighted_sum(digits: str, start: int) -> int:
    return sum(int(d) * ID_WEIGHTS[start + i] for i, d in enumerate(digits))


class Weighted:
    """A fixed weighted choice, drawn with one random number (faster than rng.choices)."""

    def __init__(self, items: tuple[object, ...], weights: tuple[int, ...]) -> None:
        self.items = items
        self.cum = list(accumulate(weights))

    def draw(self, rng: random.Random) -> object:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


POLITICS = Weighted((*POLITICAL, None), (35, 10, 50, 5))


class _Maker:
    """Makes the teachers of one school."""

    def __init__(self, plan: ProvincePlan, school: SchoolPlan) -> None:
        self.plan = plan
        self.school = school
        self.rng = random.Random(f"tmis-simulator/{plan.seed}/{school.code}")
        self.latest, self.window = birth_window(plan.reference_date)
        self.blocks = plan.id_blocks[school.county_code]
        mix = COUNTY_MIX.get(school.county_code) or ETHNIC_MIX.get(school.city_code) or \
            DEFAULT_MIX
        self.ethnicity = Weighted(mix[0], mix[1])
        self.education = Weighted(EDUCATION, EDUCATION_WEIGHTS[school.stage])
        self.latest_day = self.latest.toordinal()
        self.last_hire = plan.reference_date.toordinal() - 30
        self.female = FEMALE_SHARE[school.stage]
        self.higher = school.stage is Stage.HIGHER
        self.noisy = plan.noise.touched

    def birth(self, k: int, age: float) -> int:
        """The birth day (ordinal): near `age`, on the residue of k's block (see above)."""
        want = int((age - MIN_AGE) * 365.25 + self.rng.random() * 365)
        want = max(0, min(self.window - 1, want))
        block = k // SLOTS
        offset = want - ((want - block) % self.blocks)
        if offset < 0:
            offset += self.blocks
        return self.latest_day - offset

    def make(self, index: int, fate: Fate, fulltime: bool, review: Review,
             final_school: str | None, leave: LeaveReason | None = None) -> TeacherPlan:
        rng, school = self.rng, self.school
        stage = school.stage
        key = school.key(index)
        gender = "female" if rng.random() < self.female else "male"
        age = rng.uniform(57.0, 60.0) if leave is LeaveReason.RETIRED else \
            rng.triangular(MIN_AGE, MAX_AGE, 40)
        k = school.id_base + index
        born_day = self.birth(k, age)
        born = date.fromordinal(born_day)
        # 18 years are at most 18 * 365 + 5 days: hired on or after the 18th birthday.
        hire_day = born_day + int((19 + rng.random() * 7) * 365.25)
        hire_day = max(born_day + 18 * 365 + 5, min(hire_day, self.last_hire))
        hire = date.fromordinal(hire_day)
        education: str | None = self.education.draw(rng)  # type: ignore[assignment]
        years = (self.last_hire - hire_day) / 365.25
        if self.higher:
            title: str | None = HIGHER_TITLES[min(3, int(years / 8))]
        else:
            title = SCHOOL_TITLES[min(3, int(years / 7))] if years > 1 else None
            if title == "高级教师" and rng.random() < 0.03:
                title = "正高级教师"
        if not fulltime:
            title = None if rng.random() < 0.7 else title
        qualification: str | None = QUALIFICATION[stage] if fulltime and \
            rng.random() < 0.88 else None
        political: str | None = POLITICS.draw(rng)  # type: ignore[assignment]
        if political == LEAGUE and age > 35:
            political = "群众"
        t = TeacherPlan(
            key=key, school_code=school.code, final_school=final_school, fate=fate,
            name=person_name(rng, gender), id_number=id_number(school.county_code, born,
                                                                k % SLOTS, gender),
            gender=gender, birth_date=born,
            ethnicity=str(self.ethnicity.draw(rng)),
            political_status=political,
            post_status=PostStatus.NOT_IN_POST if fate is Fate.NOT_IN_POST else
            PostStatus.IN_POST,
            is_fulltime_teacher=fulltime, stage_taught=stage if fulltime else None,
            hire_date=hire, highest_education=education, professional_title=title,
            teacher_qualification=qualification, review=review,
            leave_reason=leave)
        if key in self.noisy:
            self.apply_noise(t)
        return t

    def apply_noise(self, t: TeacherPlan) -> None:
        noise = self.plan.noise
        t.retry = t.key in noise.retries
        if t.key in noise.returns:
            t.returns_to_post = True
            t.post_status = PostStatus.NOT_IN_POST  # registered away, back in post later
        field_name = noise.updates.get(t.key)
        if field_name is not None:
            t.change = self.updated(t, field_name)
        level = noise.rejections.get(t.key)
        if level is not None:
            t.rejected_at = level
            fix = "teacher_qualification" if self.rng.random() < 0.6 else "highest_education"
            t.rejection_reason = REJECTION_REASONS[fix]
            if fix == "teacher_qualification":
                final = t.teacher_qualification or QUALIFICATION[self.school.stage]
                t.teacher_qualification = None
            else:
                final = t.highest_education or "大学本科"
                t.highest_education = "高中阶段毕业" if final != "高中阶段毕业" else "大学专科"
            t.change = (fix, getattr(t, fix), final)

    def updated(self, t: TeacherPlan, field_name: str) -> tuple[str, object, object]:
        """The change, with the registered value set to what it was before."""
        if field_name == "post_status":
            t.post_status = PostStatus.IN_POST
            return field_name, PostStatus.IN_POST, PostStatus.NOT_IN_POST
        if field_name == "is_fulltime_teacher":
            was = t.is_fulltime_teacher
            t.is_fulltime_teacher = not was
            return field_name, not was, was
        if field_name == "political_status":
            t.political_status = LEAGUE
            return field_name, LEAGUE, PARTY
        if field_name == "highest_education":
            degree = t.highest_education or "大学本科"
            before = EDUCATION[min(len(EDUCATION) - 1, EDUCATION.index(degree) + 1)]
            if before == degree:
                before = "大学专科"
            t.highest_education = before
            return field_name, before, degree
        ladder = HIGHER_TITLES if self.school.stage is Stage.HIGHER else SCHOOL_TITLES
        final_title = t.professional_title or ladder[1]
        lower = ladder.index(final_title) - 1 if final_title in ladder else 0
        before_title = ladder[lower] if lower >= 0 else None
        t.professional_title = before_title
        return field_name, before_title, final_title

    def noise_review(self) -> Review:
        return self.rng.choices((Review.COMPLETE, Review.SCHOOL_APPROVED, Review.SUBMITTED),
                                weights=(4, 3, 3))[0]


def teachers_of(plan: ProvincePlan, school: SchoolPlan) -> list[TeacherPlan]:
    """Every teacher registered at `school`, in roster order."""
    maker = _Maker(plan, school)
    rng = maker.rng
    home = school.merged_into or school.code
    fulltime = set(rng.sample(range(school.stay), school.stay_fulltime))
    complete = set(rng.sample(range(school.stay), school.stay_review_complete))
    out: list[TeacherPlan] = []
    for i in range(school.stay):
        review = Review.COMPLETE if i in complete else rng.choice(
            (Review.SCHOOL_APPROVED, Review.SUBMITTED))
        out.append(maker.make(i, Fate.STAY, i in fulltime, review, home))
    i = school.stay
    for transfer in school.transfers_out:
        out.append(maker.make(i, Fate.TRANSFER, transfer.is_fulltime, transfer.review,
                              transfer.to_school))
        i += 1
    for _ in range(school.leavers):
        reason = plan.noise.leave_reasons.get(school.key(i), LeaveReason.RESIGNED)
        out.append(maker.make(i, Fate.LEAVE, rng.random() < 0.8, maker.noise_review(), None,
                              leave=reason))
        i += 1
    for _ in range(school.not_in_post):
        out.append(maker.make(i, Fate.NOT_IN_POST, rng.random() < 0.5, maker.noise_review(),
                              home))
        i += 1
    return out
