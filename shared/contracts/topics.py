"""The topic registry: which stream category goes to which Kafka topic, keyed how.

Topic names carry a version suffix; a breaking change to a topic's contract is a new topic.
The key of every message is the stream id, so Kafka keeps per-stream (per-aggregate) order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    categories: tuple[str, ...]
    key: str
    description: str
    partitions: int = 6


TOPICS: tuple[Topic, ...] = (
    Topic("tmis.intake.school.v1", "intake", ("school",), "school-<code>",
          "School registry: registered, changed, closed."),
    Topic("tmis.intake.teacher.v1", "intake", ("teacher",), "teacher-<teacher_id>",
          "Teacher records: registered, updated, transferred, returned to post, left."),
    Topic("tmis.intake.account.v1", "intake", ("account",), "account-<account_id>",
          "Accounts (internal): created, disabled, handed over, sign-in locks; teachers' "
          "credentials, confirmations and flags. Every service follows it for its token gate."),
    Topic("tmis.review.decision.v1", "review", ("review", "spotcheck"), "review-<teacher_id>",
          "Review decisions at school and county level; spot-check samples."),
    Topic("tmis.orgsync.restructuring.v1", "orgsync", ("restructuring",), "batch-<batch_id>",
          "Quarterly restructuring batches: announced and applied."),
    Topic("tmis.reporting.baseline.v1", "reporting", ("baseline", "signoff", "confirmation",
                                                         "chasing"),
          "baseline-<id> / signoff-<county> / confirmation-<school> / round-<id> / notice-<id>",
          "Imported baselines, city completeness sign-offs, confirmation tables, collection "
          "rounds and reminders to lagging units (催报)."),
    Topic("tmis.deadletter.v1", "shared", (), "original key",
          "Messages a consumer could not parse or apply, with the reason in headers.", 1),
)

DEAD_LETTER_TOPIC = "tmis.deadletter.v1"

_BY_CATEGORY = {c: t for t in TOPICS for c in t.categories}
_BY_NAME = {t.name: t for t in TOPICS}


def topic_for_category(category: str) -> str:
    try:
        return _BY_CATEGORY[category].name
    except KeyError:
        raise LookupError(f"no topic for stream category {category!r}") from None


def topic(name: str) -> Topic:
    return _BY_NAME[name]


def topics_owned_by(owner: str) -> tuple[str, ...]:
    return tuple(t.name for t in TOPICS if t.owner == owner)


# --------------------------------------------------------------------------- public topics


@dataclass(frozen=True)
class PublicTopic:
    """A topic other agencies subscribe to (shared/contracts/public.py says what goes on it).

    Retention is unlimited (cleanup.policy=delete with retention.ms=-1), not compaction: a
    subsidy decided "as of" a past date needs a teacher's whole history (in post here, moved
    there, reviewed then, left later), and compaction would keep only the latest message per
    key. A new agency replays from offset 0 and rebuilds any past date exactly.
    """

    name: str
    owner: str  # the service whose outbox relay publishes it
    event_types: tuple[str, ...]
    key: str
    description: str
    partitions: int = 6
    cleanup_policy: str = "delete"
    retention_ms: int = -1


PUBLIC_TOPIC_PREFIX = "tmis.public."

PUBLIC_TOPICS: tuple[PublicTopic, ...] = (
    PublicTopic("tmis.public.school.v1", "intake",
                ("SchoolOpened", "SchoolChanged", "SchoolMerged", "SchoolClosed"), "school_code",
                "Schools: opened, changed (county, rural flag, stage...), merged, closed."),
    PublicTopic("tmis.public.teacher.v1", "intake",
                ("TeacherInPost", "TeacherLeft", "TeacherMoved"), "teacher_id",
                "Teachers: in post at a school, not in post any more, moved."),
    PublicTopic("tmis.public.review.v1", "review", ("ReviewCompleted",), "teacher_id",
                "Review complete (审核完成) for a teacher's record version."),
    PublicTopic("tmis.public.baseline.v1", "reporting", ("BaselinePublished",), "baseline_id",
                "Official baselines: annual report (年报) and base table (基数表), in chunks."),
)


def public_topic(name: str) -> PublicTopic:
    return next(t for t in PUBLIC_TOPICS if t.name == name)


def public_topics_owned_by(owner: str) -> tuple[str, ...]:
    return tuple(t.name for t in PUBLIC_TOPICS if t.owner == owner)
