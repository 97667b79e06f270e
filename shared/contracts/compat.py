"""Will a schema change break an existing subscriber? A pure comparison of two JSON Schemas.

`breaking_changes(old, new)` lists what a subscriber written against `old` cannot survive when
the topic starts carrying messages valid under `new` (and, because public topics keep every
message forever, what a reader of `new` cannot survive among the old messages still there):

    removed field        a property of `old` is gone from `new`
    retyped field        a property's JSON types in `new` are not a subset of those in `old`
                         (string -> integer, or a newly nullable field), or its format changed
    newly required       a property required in `new` was optional or absent in `old`
    enum value removed   an allowed value of `old` is not allowed any more
    closed object        `new` forbids additional properties where `old` allowed them
    const changed        a fixed value (e.g. the schema version's event type) changed

Adding an optional field, adding an enum value (subscribers must ignore values they do not
know), narrowing a type (nullable -> not null) and changing descriptions are compatible.
`$ref`s are resolved within each document's `$defs`; nested objects and array items are
compared recursively and reported with a dotted path (`payload.rows[].staff`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One breaking change: where (a dotted path) and what."""

    path: str
    kind: str  # removed | retyped | newly_required | enum_value_removed | closed | const
    detail: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.kind} ({self.detail})"


@dataclass(frozen=True)
class _Node:
    """A schema node reduced to what compatibility depends on."""

    types: frozenset[str]
    formats: frozenset[str] = frozenset()
    enum: frozenset[Any] | None = None
    const: tuple[Any, ...] | None = None
    properties: dict[str, Schema] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    closed: bool = False
    items: list[Schema] = field(default_factory=list)


_ANY = frozenset({"any"})


def _resolve(node: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in node and seen < 50:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def _reduce(node: Schema, root: Schema) -> _Node:
    """Merge anyOf/oneOf alternatives into one node (union of types, enums, properties)."""
    node = _resolve(node, root)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        parts = [_reduce(alt, root) for alt in alternatives]
        # The merged node restricts values only if every non-null alternative does.
        valued = [p for p in parts if p.types - {"null"}]
        enum = (frozenset().union(*(p.enum or () for p in valued))
                if valued and all(p.enum is not None for p in valued) else None)
        props: dict[str, Schema] = {}
        items: list[Schema] = []
        for p in parts:
            props.update(p.properties)
            items += p.items
        return _Node(
            types=frozenset().union(*(p.types for p in parts)),
            formats=frozenset().union(*(p.formats for p in parts)),
            enum=enum,
            properties=props, required=frozenset().union(*(p.required for p in parts)),
            closed=all(p.closed for p in parts if "object" in p.types), items=items)
    raw_type = node.get("type")
    types: frozenset[str]
    if raw_type is None:
        if "const" in node:
            types = frozenset({_json_type(node["const"])})
        elif "enum" in node:
            types = frozenset(_json_type(v) for v in node["enum"])
        elif "properties" in node:
            types = frozenset({"object"})
        else:
            types = _ANY
    elif isinstance(raw_type, list):
        types = frozenset(raw_type)
    else:
        types = frozenset({raw_type})
    enum = frozenset(_hashable(v) for v in node["enum"]) if "enum" in node else None
    const = (_hashable(node["const"]),) if "const" in node else None
    items_node = node.get("items")
    items = [items_node] if isinstance(items_node, dict) else list(node.get("prefixItems", []))
    return _Node(types=types, formats=frozenset({node["format"]}) if "format" in node
                 else frozenset(), enum=enum, const=const,
                 properties=dict(node.get("properties", {})),
                 required=frozenset(node.get("required", ())),
                 closed=node.get("additionalProperties") is False, items=items)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _types_fit(new: frozenset[str], old: frozenset[str]) -> bool:
    """Every value `new` allows is one `old` allows (integer fits number)."""
    if old == _ANY:
        return True
    if new == _ANY:
        return False
    return all(t in old or (t == "integer" and "number" in old) for t in new)


def _compare(old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str,
             out: list[Change], depth: int = 0) -> None:
    if depth > 40:  # a recursive schema: deep enough to have found anything real
        return
    o, n = _reduce(old, old_root), _reduce(new, new_root)
    if not _types_fit(n.types, o.types):
        out.append(Change(path, "retyped", f"{_show(o.types)} -> {_show(n.types)}"))
        return
    if o.formats and n.formats and o.formats != n.formats:
        out.append(Change(path, "retyped", f"format {_show(o.formats)} -> {_show(n.formats)}"))
    if o.const is not None and n.const != o.const:
        out.append(Change(path, "const", f"{o.const[0]!r} -> "
                                         f"{n.const[0] if n.const else 'any value'!r}"))
    if o.enum is not None:
        if n.enum is None and n.const is None:
            pass  # the enum was lifted: every old value is still allowed
        else:
            allowed = n.enum if n.enum is not None else frozenset(n.const or ())
            for value in sorted(o.enum - allowed, key=repr):
                out.append(Change(path, "enum_value_removed", repr(value)))
    if "object" in o.types or o.properties:
        if n.closed and not o.closed:
            out.append(Change(path, "closed", "additional properties are now forbidden"))
        for name in sorted(o.properties):
            sub = f"{path}.{name}" if path else name
            if name not in n.properties:
                out.append(Change(sub, "removed", "the field is gone"))
                continue
            _compare(o.properties[name], n.properties[name], old_root, new_root, sub, out,
                     depth + 1)
        for name in sorted(n.required - o.required):
            sub = f"{path}.{name}" if path else name
            why = "was optional" if name in o.properties else "a new field"
            out.append(Change(sub, "newly_required", why))
    if o.items and n.items:
        for i, (oi, ni) in enumerate(zip(o.items, n.items, strict=False)):
            sub = f"{path}[]" if len(o.items) == 1 else f"{path}[{i}]"
            _compare(oi, ni, old_root, new_root, sub, out, depth + 1)


def _show(values: frozenset[str]) -> str:
    return "|".join(sorted(values))


def breaking_changes(old: Schema, new: Schema) -> list[Change]:
    """The breaking changes from `old` to `new` (empty: compatible)."""
    out: list[Change] = []
    _compare(old, new, old, new, "", out)
    return out


def is_compatible(old: Schema, new: Schema) -> bool:
    return not breaking_changes(old, new)
