"""proto3 JSON for responses, as `json_format.MessageToDict` prints it, at a fraction of the cost.

Profiling the gateway under the mixed workload (docs/performance.md) put `MessageToDict`
at about a sixth of its busy time: it walks every field through generic reflection on each
call. Here each message type gets a plan once (per field: its JSON name, whether it has
presence, and a converter), so a page of posts is a few dict and list comprehensions.
Output is identical to `MessageToDict(m, preserving_proto_field_name=True,
always_print_fields_with_no_presence=True)` (tests/unit/test_gateway_tojson.py compares
them); message types this printer does not cover (maps, floats, well-known types other
than Timestamp) go to `json_format` whole.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

F = FieldDescriptor
Convert = Callable[[Any], Any]
# (name, has presence, repeated, converter of one value)
Plan = list[tuple[str, bool, bool, Convert]]

_INT64 = {F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_FIXED64, F.TYPE_SINT64, F.TYPE_SFIXED64}
_PLAIN = {
    F.TYPE_INT32,
    F.TYPE_UINT32,
    F.TYPE_FIXED32,
    F.TYPE_SINT32,
    F.TYPE_SFIXED32,
    F.TYPE_BOOL,
    F.TYPE_STRING,
}
_TIMESTAMP = "google.protobuf.Timestamp"
_plans: dict[str, Plan | None] = {}


def _identity(value: Any) -> Any:
    return value


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _timestamp(value: Any) -> str:
    return str(value.ToJsonString())


def _enum(field: FieldDescriptor) -> Convert:
    assert field.enum_type is not None
    names = {v.number: v.name for v in field.enum_type.values}

    def convert(value: int) -> Any:
        return names.get(value, value)

    return convert


def _message(descriptor: Descriptor) -> Convert | None:
    if descriptor.full_name == _TIMESTAMP:
        return _timestamp
    if descriptor.full_name.startswith("google.protobuf.") or _plan(descriptor) is None:
        return None
    return lambda value: _print(value, descriptor)


def _plan(descriptor: Descriptor) -> Plan | None:
    """The printing plan of a message type; None when it needs json_format."""
    name = descriptor.full_name
    if name in _plans:
        return _plans[name]
    _plans[name] = None  # recursion guard: a self-referencing type falls back
    plan: Plan = []
    for field in descriptor.fields:
        convert: Convert | None
        if field.type in _INT64:
            convert = str
        elif field.type in _PLAIN:
            convert = _identity
        elif field.type == F.TYPE_BYTES:
            convert = _bytes
        elif field.type == F.TYPE_ENUM:
            convert = _enum(field)
        elif field.type == F.TYPE_MESSAGE and field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                return None
            convert = _message(field.message_type)
        else:
            convert = None  # float, double, group
        if convert is None:
            return None
        plan.append((field.name, field.has_presence and not field.is_repeated, field.is_repeated, convert))
    _plans[name] = plan
    return plan


def _print(message: Any, descriptor: Descriptor) -> dict[str, Any]:
    plan = _plans[descriptor.full_name]
    assert plan is not None
    out: dict[str, Any] = {}
    for name, presence, repeated, convert in plan:
        if repeated:
            out[name] = [convert(v) for v in getattr(message, name)]
        elif presence:
            if message.HasField(name):
                out[name] = convert(getattr(message, name))
        else:
            out[name] = convert(getattr(message, name))
    return out


def message_to_dict(message: Message) -> dict[str, Any]:
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    if _plan(descriptor) is None:
        return dict(
            json_format.MessageToDict(
                message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
            )
        )
    return _print(message, descriptor)
