"""Base class and registry of event payloads.

Every payload is a frozen pydantic model with `extra="forbid"` (we emit exactly what the contract
says) and three class-level facts: its event type name (past tense), its schema version and the
category of stream it belongs to (which decides the topic). The registry maps (type, version) to
the model, and upcasters lift an old version's payload to the current one, so a consumer always
sees the current shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from shared.contracts.envelope import Envelope


class EventPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    category: ClassVar[str]
    description: ClassVar[str] = ""


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_MODELS: dict[str, type[EventPayload]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register(model: type[EventPayload]) -> type[EventPayload]:
    """Class decorator: make an event payload known to the registry."""
    if model.event_type in _MODELS:
        raise RuntimeError(f"event type {model.event_type} registered twice")
    _MODELS[model.event_type] = model
    return model


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function lifting a payload from `from_version` to `from_version + 1`."""

    def deco(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = fn
        return fn

    return deco


def model_for(event_type: str) -> type[EventPayload] | None:
    return _MODELS.get(event_type)


def all_models() -> dict[str, type[EventPayload]]:
    return dict(_MODELS)


def upcast(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    model = _MODELS.get(event_type)
    if model is None:
        return payload
    while version < model.schema_version:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version}")
        payload = step(payload)
        version += 1
    return payload


def parse_payload(envelope: Envelope) -> EventPayload:
    """The typed payload of an envelope, upcast to the current schema version.

    Raises LookupError for an unknown event type and pydantic.ValidationError for a payload that
    does not match its contract.
    """
    model = _MODELS.get(envelope.event_type)
    if model is None:
        raise LookupError(f"unknown event type {envelope.event_type}")
    data = upcast(envelope.event_type, envelope.schema_version, envelope.payload)
    # Read leniently: fields a newer producer added are ignored, not refused.
    known = {k: v for k, v in data.items() if k in model.model_fields}
    return model.model_validate(known)
