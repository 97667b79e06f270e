"""The public contracts as documents, generated from the code: one JSON Schema per public event
version (docs/contracts/public/<Type>.v<N>.json), their AsyncAPI document, and the event
catalogue page (docs/events.md: what each event means, an example, which decision uses it).

Examples are not written by hand: sample internal events are run through `translate`, so the
catalogue shows exactly what the relay publishes. Exporting refuses to overwrite a committed
schema with an incompatible one (shared/contracts/compat.py); a schema of a past version is
written once and never rewritten.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from shared.contracts import events as ev
from shared.contracts.base import EventPayload
from shared.contracts.compat import Change, breaking_changes
from shared.contracts.envelope import Envelope
from shared.contracts.public import (
    CURRENT,
    UPCASTERS,
    VERSIONS,
    PublicEnvelope,
    PublicPayload,
    public_schema,
    schema_file_name,
    translate,
    typed_public_envelope,
)
from shared.contracts.topics import PUBLIC_TOPICS
from shared.contracts.vocabulary import (
    BaselineKind,
    Gender,
    LeaveReason,
    PostStatus,
    ReportingLine,
    Stage,
)

_SAMPLE_NS = UUID("0b7c3f0e-5d1a-4c2b-9e8f-1a2b3c4d5e6f")
_TEACHER = str(uuid5(_SAMPLE_NS, "teacher"))
_SCHOOL, _OTHER, _TARGET, _CLOSED = "6201230101", "6201230102", "6201230100", "6201230103"


class BreakingChangeError(Exception):
    """Exporting would overwrite a committed public schema with an incompatible one."""

    def __init__(self, problems: dict[str, list[Change]]) -> None:
        self.problems = problems
        lines = [f"{name}: {c}" for name, changes in problems.items() for c in changes]
        super().__init__("breaking change to committed public schemas "
                         "(ship a new topic instead):\n  " + "\n  ".join(lines))


def _profile(name: str, rural: bool = True) -> ev.SchoolProfile:
    return ev.SchoolProfile(name=name, stage=Stage.PRIMARY, county_code="620123",
                            city_code="620100", reporting_line=ReportingLine.COUNTY,
                            is_rural=rural)


def _record(post: PostStatus = PostStatus.IN_POST) -> ev.TeacherRecord:
    # A generated person: never a real name or ID number.
    return ev.TeacherRecord(name="示例教师", id_number_masked="620123********9014",
                            gender=Gender.FEMALE, birth_date=date(1988, 3, 14), ethnicity="汉族",
                            post_status=post, is_fulltime_teacher=True,
                            stage_taught=Stage.PRIMARY, hire_date=date(2010, 9, 1))


def sample_internal_events() -> list[tuple[str, int, EventPayload]]:
    """(stream id, stream version, payload) of one of every internal event that goes public."""
    proof = ev.ProofDocument(sha256="0" * 64, media_type="application/pdf", size_bytes=48213)
    teacher = f"teacher-{_TEACHER}"
    return [
        (f"school-{_SCHOOL}", 1, ev.SchoolRegistered(school_code=_SCHOOL,
                                                     profile=_profile("示例乡中心小学"))),
        (f"school-{_SCHOOL}", 2, ev.SchoolChanged(
            school_code=_SCHOOL, profile=_profile("示例镇中心小学", rural=False),
            changed_fields=("name", "is_rural"))),
        (f"school-{_OTHER}", 3, ev.SchoolClosed(school_code=_OTHER, merged_into=_TARGET)),
        (f"school-{_CLOSED}", 2, ev.SchoolClosed(school_code=_CLOSED)),
        (teacher, 1, ev.TeacherRegistered(teacher_id=_TEACHER, school_code=_SCHOOL,
                                          record=_record(), completeness=0.85)),
        (teacher, 2, ev.TeacherUpdated(teacher_id=_TEACHER, school_code=_SCHOOL,
                                       record=_record(PostStatus.NOT_IN_POST),
                                       changed_fields=("post_status",), completeness=0.85)),
        (teacher, 3, ev.TeacherReturnedToPost(teacher_id=_TEACHER, school_code=_SCHOOL,
                                              proof=proof)),
        (teacher, 4, ev.TeacherTransferred(teacher_id=_TEACHER, from_school_code=_SCHOOL,
                                           to_school_code=_OTHER, proof=proof)),
        (teacher, 5, ev.TeacherReassigned(teacher_id=_TEACHER, from_school_code=_OTHER,
                                          to_school_code=_TARGET, batch_id="2017Q2")),
        (teacher, 6, ev.TeacherLeft(teacher_id=_TEACHER, school_code=_TARGET,
                                    reason=LeaveReason.RETIRED)),
        (f"review-{_TEACHER}", 4, ev.ReviewCompleted(teacher_id=_TEACHER, record_version=4,
                                                     school_code=_OTHER, county_code="620123")),
        ("baseline-annual-2016", 1, ev.BaselineImported(
            baseline_id="annual-2016", kind=BaselineKind.ANNUAL, year=2016, chunk=0, chunks=1,
            rows=(ev.BaselineRow(level="county", code="620123", name="示例县",
                                 stage=Stage.PRIMARY, schools=212, teaching_points=61,
                                 staff=2874, fulltime=2701),))),
    ]


def sample_envelope(stream_id: str, version: int, payload: EventPayload) -> Envelope:
    at = datetime(2017, 3, 1, 2, 30, tzinfo=UTC) + timedelta(days=version - 1)
    return Envelope(
        event_id=uuid5(_SAMPLE_NS, f"{stream_id}:{version}:{payload.event_type}"),
        event_type=payload.event_type, schema_version=payload.schema_version,
        source="intake", stream_id=stream_id, stream_version=version, position=version,
        occurred_at=at, recorded_at=at, actor="sample", correlation_id=_SAMPLE_NS,
        payload=payload.model_dump(mode="json"))


def examples() -> dict[str, list[PublicEnvelope]]:
    """Public event type -> the public messages the sample internal events become."""
    out: dict[str, list[PublicEnvelope]] = {}
    for stream_id, version, payload in sample_internal_events():
        for msg in translate(sample_envelope(stream_id, version, payload)):
            out.setdefault(msg.envelope.event_type, []).append(msg.envelope)
    return out


def past_example(model: type[PublicPayload]) -> dict[str, Any]:
    """A message of a past version as its producers published it (for the versions section)."""
    current = examples()[model.event_type][0]
    old = model.model_validate(current.payload)
    return current.model_copy(update={"schema_version": model.schema_version,
                                      "payload": old.model_dump(mode="json")}
                              ).model_dump(mode="json")


# --------------------------------------------------------------------------- schemas on disk


def committed_schemas(directory: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """The public schemas committed in `directory` (docs/contracts/public), by (type, version)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for path in sorted(directory.glob("*.v*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        out[(doc["x-event-type"], int(doc["x-schema-version"]))] = doc
    return out


def compatibility_problems(directory: Path) -> dict[str, list[Change]]:
    """Breaking changes of the code's public schemas against the committed ones: each current
    version against its own committed file and against every committed earlier version."""
    committed = committed_schemas(directory)
    problems: dict[str, list[Change]] = {}
    for (event_type, version), model in sorted(VERSIONS.items()):
        schema = public_schema(model)
        for (c_type, c_version), old in committed.items():
            if c_type != event_type or c_version > version:
                continue
            if c_version < version and model is not CURRENT.get(event_type):
                continue  # a past version is compared only with itself
            changes = breaking_changes(old, schema)
            if changes:
                problems[f"{event_type} v{c_version} -> v{version}"] = changes
    return problems


def export_public(directory: Path) -> list[Path]:
    """Write every public schema version and the public AsyncAPI document into `directory`.

    Refuses (BreakingChangeError) when a schema would break a committed one; never rewrites a
    past version's file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    problems = compatibility_problems(directory)
    if problems:
        raise BreakingChangeError(problems)
    written = []
    for (event_type, version), model in sorted(VERSIONS.items()):
        path = directory / schema_file_name(event_type, version)
        if model is not CURRENT[event_type] and path.exists():
            continue
        path.write_text(json.dumps(public_schema(model), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    path = directory / "asyncapi.json"
    # faststream's channel order varies between runs: sorted keys keep the file diff-stable.
    path.write_text(json.dumps(public_asyncapi(), indent=2, ensure_ascii=False, sort_keys=True)
                    + "\n", encoding="utf-8")
    written.append(path)
    return written


def public_asyncapi() -> dict[str, Any]:
    broker = KafkaBroker("kafka:9092", description="TMIS public integration events "
                                                   "(SASL_PLAINTEXT, SCRAM-SHA-512)")
    for model in CURRENT.values():
        broker.publisher(model.topic, title=f"{model.topic}:{model.event_type}",
                         schema=typed_public_envelope(model),
                         description=f"v{model.schema_version}. {model.meaning} "
                                     f"Used by: {model.used_by}")
    spec = AsyncAPI(broker, title="TMIS public events", version="1",
                    description="Events other agencies subscribe to. Key = opaque id; order "
                                "per key only; unlimited retention: read from the beginning.",
                    schema_version="3.0.0")
    doc: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return doc


# --------------------------------------------------------------------------- the catalogue


def _type_of(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        if "enum" in target:
            return " \\| ".join(f"`{v}`" for v in target["enum"])
        return name
    if "anyOf" in node:
        return " or ".join(_type_of(n, defs) for n in node["anyOf"])
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if node.get("type") == "array":
        return f"array of {_type_of(node.get('items', {}), defs)}"
    return str(node.get("type", "any")) + (f" ({node['format']})" if "format" in node else "")


def _fields(model: type[PublicPayload]) -> list[str]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    rows = ["| field | type | required | notes |", "|---|---|---|---|"]
    for name, node in schema.get("properties", {}).items():
        note = (node.get("description") or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_type_of(node, defs)} | "
                    f"{'yes' if name in required else 'no'} | {note} |")
    return rows


def catalogue_markdown() -> str:
    """docs/events.md, generated."""
    ex = examples()
    out = [
        "# Public event catalogue",
        "",
        "Generated by `tmis contracts export docs/contracts` from `shared/contracts/public.py`; "
        "do not edit by hand. How to connect, replay and stay idempotent: "
        "[subscribing.md](subscribing.md). JSON Schemas: [contracts/public/](contracts/public/); "
        "AsyncAPI: [contracts/public/asyncapi.json](contracts/public/asyncapi.json).",
        "",
        "Every message is a JSON envelope: `event_id` (deduplicate by it), `event_type`, "
        "`schema_version`, `key` (also the Kafka key), `sequence` (per key, increasing), "
        "`occurred_at` (business time, what \"as of a date\" uses), `source_event_id`, "
        "`payload`. No message carries a name, a birth date or an ID number (身份证号): a "
        "teacher is an opaque `teacher_id`.",
        "",
        "## Topics",
        "",
        "| topic | key | events | retention |",
        "|---|---|---|---|",
    ]
    for t in PUBLIC_TOPICS:
        out.append(f"| `{t.name}` | `{t.key}` | {', '.join(t.event_types)} | unlimited "
                   f"(`cleanup.policy={t.cleanup_policy}`, `retention.ms={t.retention_ms}`) |")
    out += ["", "Retention is unlimited, not compaction: a decision as of a past date needs a "
            "teacher's whole history, which compaction would discard (it keeps only the last "
            "message per key). A new agency reads from offset 0 and can rebuild any date.", ""]
    for t in PUBLIC_TOPICS:
        out += [f"## `{t.name}`", "", t.description, ""]
        for name in t.event_types:
            model = CURRENT[name]
            out += [f"### {name} (v{model.schema_version})", "", f"**Meaning.** {model.meaning}",
                    "", f"**Used by.** {model.used_by}", "", *_fields(model), ""]
            for sample in ex.get(name, [])[:1]:
                out += ["Example:", "", "```json",
                        json.dumps(sample.model_dump(mode="json"), indent=2, ensure_ascii=False),
                        "```", ""]
            out += [f"Schema: [contracts/public/{schema_file_name(name, model.schema_version)}]"
                    f"(contracts/public/{schema_file_name(name, model.schema_version)})", ""]
    out += _versions_section()
    return "\n".join(out).rstrip() + "\n"


def _versions_section() -> list[str]:
    out = ["## Versions and upcasting", "",
           "A public event changes only compatibly: fields are added (optional), never removed "
           "or retyped, and never newly required; enum values are added, never removed. "
           "`tests/unit/test_public_contracts.py` compares the code with the committed schemas "
           "and fails on a breaking change; a breaking change is a new topic (`...v2`). Old "
           "messages stay on the topic forever (unlimited retention), so a reader meets every "
           "version: read `schema_version` and upcast, as `read_public` in "
           "`shared/contracts/public.py` does.", ""]
    for (event_type, version), model in sorted(VERSIONS.items()):
        if model is CURRENT[event_type]:
            continue
        current = CURRENT[event_type]
        step = UPCASTERS[(event_type, version)]
        out += [f"### {event_type} v{version} (superseded by v{current.schema_version})", "",
                f"{(step.__doc__ or '').strip()}", "", *_fields(model), "",
                f"A v{version} message, as published before v{current.schema_version}:", "",
                "```json", json.dumps(past_example(model), indent=2, ensure_ascii=False), "```",
                "",
                f"Schema: [contracts/public/{schema_file_name(event_type, version)}]"
                f"(contracts/public/{schema_file_name(event_type, version)})", ""]
    return out


def write_catalogue(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(catalogue_markdown(), encoding="utf-8")
    return path
