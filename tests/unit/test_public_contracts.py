"""Public contracts as promises: the code's public schemas against the committed ones, the
versioned TeacherInPost (v1 -> v2 upcaster), and the generated documents being up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.contracts import public as pub
from shared.contracts.compat import breaking_changes
from shared.contracts.public_catalogue import (
    catalogue_markdown,
    committed_schemas,
    compatibility_problems,
    examples,
    export_public,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
PUBLIC_SCHEMAS = DOCS / "contracts" / "public"
COMMITTED = committed_schemas(PUBLIC_SCHEMAS)


def test_every_public_event_version_has_a_committed_schema():
    assert set(pub.VERSIONS) <= set(COMMITTED), "run `tmis contracts export docs/contracts`"


@pytest.mark.parametrize("key", sorted(pub.CURRENT.items()), ids=lambda kv: kv[0])
def test_no_public_event_breaks_its_committed_schema_or_any_earlier_version(key):
    event_type, model = key
    schema = pub.public_schema(model)
    for (c_type, c_version), old in COMMITTED.items():
        if c_type == event_type:
            changes = breaking_changes(old, schema)
            assert changes == [], f"{event_type} v{c_version} -> v{model.schema_version}: " + \
                "; ".join(map(str, changes))


def test_a_past_version_schema_is_frozen_as_committed():
    for (event_type, version), model in pub.VERSIONS.items():
        if model is not pub.CURRENT[event_type]:
            assert pub.public_schema(model) == COMMITTED[(event_type, version)]


def test_the_checker_over_the_committed_directory_finds_nothing():
    assert compatibility_problems(PUBLIC_SCHEMAS) == {}


def test_export_refuses_to_overwrite_a_committed_schema_with_a_breaking_one(tmp_path):
    from shared.contracts.public_catalogue import BreakingChangeError

    schema = pub.public_schema(pub.TeacherLeft)
    schema["$defs"]["TeacherLeft"]["properties"]["office"] = {"type": "string"}
    (tmp_path / "TeacherLeft.v1.json").write_text(json.dumps(schema))
    with pytest.raises(BreakingChangeError, match="office: removed"):
        export_public(tmp_path)


def test_teacher_in_post_v2_only_adds_optional_fields_to_v1():
    v1, v2 = (pub.public_schema(pub.VERSIONS[("TeacherInPost", v)]) for v in (1, 2))
    assert breaking_changes(v1, v2) == []
    p1, p2 = (pub.VERSIONS[("TeacherInPost", v)].model_json_schema()["properties"]
              for v in (1, 2))
    assert set(p2) - set(p1) == {"is_fulltime", "stage_taught"}


def test_every_v1_teacher_in_post_example_upcasts_to_a_valid_v2():
    for sample in examples()["TeacherInPost"]:
        v1 = pub.TeacherInPostV1.model_validate(sample.payload).model_dump(mode="json")
        lifted = pub.upcast_public("TeacherInPost", 1, v1)
        parsed = pub.TeacherInPost.model_validate(lifted)
        assert (parsed.teacher_id, parsed.record_version) == (v1["teacher_id"],
                                                              v1["record_version"])
        assert parsed.is_fulltime is None


def test_every_past_version_has_an_upcaster_chain_to_the_current_one():
    for (event_type, version) in pub.VERSIONS:
        current = pub.CURRENT[event_type].schema_version
        for v in range(version, current):
            assert (event_type, v) in pub.UPCASTERS, (event_type, v)


def test_every_public_event_has_a_meaning_a_user_and_an_example():
    ex = examples()
    for name, model in pub.CURRENT.items():
        assert model.meaning and model.used_by, name
        assert ex.get(name), f"no sample internal event translates to {name}"


def test_the_committed_catalogue_page_is_what_the_code_generates():
    committed = (DOCS / "events.md").read_text(encoding="utf-8")
    assert committed == catalogue_markdown(), "run `tmis contracts export docs/contracts`"


def test_the_committed_public_asyncapi_lists_every_public_topic():
    doc = json.loads((PUBLIC_SCHEMAS / "asyncapi.json").read_text(encoding="utf-8"))
    text = json.dumps(doc)
    for model in pub.CURRENT.values():
        assert model.topic in text and model.event_type in text
