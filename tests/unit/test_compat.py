"""The schema compatibility checker (shared/contracts/compat.py) on synthetic schema pairs."""

from __future__ import annotations

import copy
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.contracts.compat import breaking_changes, is_compatible


def obj(props: dict, required: tuple[str, ...] = (), **extra) -> dict:
    return {"type": "object", "properties": props, "required": list(required), **extra}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
NULLABLE_S = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def kinds(old: dict, new: dict) -> list[tuple[str, str]]:
    return [(c.path, c.kind) for c in breaking_changes(old, new)]


def test_an_identical_schema_is_compatible():
    schema = obj({"a": S, "b": I}, ("a",))
    assert is_compatible(schema, copy.deepcopy(schema))


def test_adding_an_optional_field_is_compatible():
    assert kinds(obj({"a": S}, ("a",)), obj({"a": S, "b": NULLABLE_S}, ("a",))) == []


def test_removing_a_field_breaks_a_subscriber():
    assert kinds(obj({"a": S, "b": I}, ("a",)), obj({"a": S}, ("a",))) == [("b", "removed")]


def test_retyping_a_field_breaks_a_subscriber():
    assert kinds(obj({"a": S}), obj({"a": I})) == [("a", "retyped")]


def test_making_a_field_nullable_breaks_a_subscriber_that_never_saw_null():
    assert kinds(obj({"a": S}, ("a",)), obj({"a": NULLABLE_S}, ("a",))) == [("a", "retyped")]


def test_making_a_nullable_field_never_null_is_compatible():
    assert kinds(obj({"a": NULLABLE_S}), obj({"a": S})) == []


def test_an_integer_where_a_number_was_is_compatible_but_not_the_other_way():
    number = {"type": "number"}
    assert kinds(obj({"a": number}), obj({"a": I})) == []
    assert kinds(obj({"a": I}), obj({"a": number})) == [("a", "retyped")]


def test_a_new_required_field_breaks_and_so_does_requiring_an_optional_one():
    old = obj({"a": S, "b": S}, ("a",))
    assert kinds(old, obj({"a": S, "b": S, "c": S}, ("a", "c"))) == [("c", "newly_required")]
    assert kinds(old, obj({"a": S, "b": S}, ("a", "b"))) == [("b", "newly_required")]


def test_removing_an_enum_value_breaks_and_adding_one_does_not():
    old = obj({"s": {"type": "string", "enum": ["a", "b"]}})
    assert kinds(old, obj({"s": {"type": "string", "enum": ["a"]}})) == \
        [("s", "enum_value_removed")]
    assert kinds(old, obj({"s": {"type": "string", "enum": ["a", "b", "c"]}})) == []


def test_lifting_an_enum_to_any_string_is_compatible():
    assert kinds(obj({"s": {"type": "string", "enum": ["a"]}}), obj({"s": S})) == []


def test_closing_an_open_object_breaks_strict_validators_of_additions():
    assert kinds(obj({"a": S}), obj({"a": S}, additionalProperties=False)) == \
        [("", "closed")]


def test_changes_deep_inside_refs_and_arrays_are_found_with_their_path():
    def doc(row: dict) -> dict:
        return {**obj({"payload": {"$ref": "#/$defs/P"}}, ("payload",)), "$defs": {
            "P": obj({"rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}}}),
            "Row": row}}

    old = doc(obj({"staff": NULLABLE_S, "code": S}))
    new = doc(obj({"code": I}))
    assert kinds(old, new) == [("payload.rows[].code", "retyped"),
                               ("payload.rows[].staff", "removed")]


def test_a_changed_format_is_a_retype():
    assert kinds(obj({"t": {"type": "string", "format": "date-time"}}),
                 obj({"t": {"type": "string", "format": "uuid"}})) == [("t", "retyped")]


def test_a_changed_constant_breaks():
    assert kinds(obj({"k": {"const": "A"}}), obj({"k": {"const": "B"}})) == [("k", "const")]


class _V1(BaseModel):
    model_config = ConfigDict(extra="ignore")
    teacher_id: str
    reason: Literal["retired", "resigned"]
    record_version: int | None = None


class _V2Compatible(_V1):
    stage: str | None = None
    reason: Literal["retired", "resigned", "other"]


class _V2Breaking(BaseModel):
    teacher_id: int
    reason: Literal["retired"]
    stage: str


def test_pydantic_models_evolve_compatibly_by_adding_optional_fields_and_enum_values():
    assert breaking_changes(_V1.model_json_schema(), _V2Compatible.model_json_schema()) == []


def test_every_break_of_a_pydantic_model_is_listed():
    found = kinds(_V1.model_json_schema(), _V2Breaking.model_json_schema())
    assert sorted(found) == [("reason", "enum_value_removed"), ("record_version", "removed"),
                             ("stage", "newly_required"), ("teacher_id", "retyped")]


def test_a_breaking_change_reads_as_a_sentence():
    (change,) = breaking_changes(obj({"a": S}), obj({}))
    assert str(change) == "a: removed (the field is gone)"
