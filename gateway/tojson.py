"""proto3 JSON for responses, as `json_format.MessageToDict` prints it, at a fraction of the cost.

Profiling the gateway under the mixed workload (docs/performance.md) put `MessageToDict`
at about a sixth of its busy time: it walks every field through generic reflection on each
call. Here each message type gets a plan once (per field: its JSON name, whether it has
presence, and a converter), so a page of posts is a few dict and list comprehensions.
Output is identical to `MessageToDict(m, preserving_proto_field_name=True,
always_print_fields_with_no_presence=True)` (tests/unit/test_gateway_tojson.py compares
them); message types this printer does not cover (maps, floats, well-known types other
than Timestamp) go to `json_format` whole.

A `Printer` may also rename enum values as it prints (the gateway's short names), so
answers need no second walk to rewrite them (that walk was a tenth of the gateway's busy
time under the home-read load). `message_to_dict` is the plain proto3 printer.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

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
# How an enum value is spelled in JSON: (its enum, its proto name) -> JSON string.
EnumName = Callable[[EnumDescriptor, str], str]


def _identity(value: Any) -> Any:
    return value


def _proto_name(enum: EnumDescriptor, name: str) -> str:
    return name


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _timestamp(value: Any) -> str:
    return _format_timestamp(value.seconds, value.nanos)


@lru_cache(maxsize=65536)
def _format_timestamp(seconds: int, nanos: int) -> str:
    # protobuf's own RFC 3339 printer, cached: it is pure Python, and the same posts'
    # times are printed on page after page.
    return str(Timestamp(seconds=seconds, nanos=nanos).ToJsonString())


class Printer:
    """Plans per message type, made once; `to_dict` prints with them. Types without a plan
    go to json_format whole, enum names unchanged (`planned` says which)."""

    def __init__(self, enum_name: EnumName = _proto_name) -> None:
        self.enum_name = enum_name
        self._plans: dict[str, Plan | None] = {}

    def planned(self, descriptor: Descriptor) -> bool:
        """Whether this type prints through a plan (else json_format prints it whole)."""
        return self._plan(descriptor) is not None

    def to_dict(self, message: Message) -> dict[str, Any]:
        descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
        if self._plan(descriptor) is None:
            return dict(
                json_format.MessageToDict(
                    message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
                )
            )
        return self._print(message, descriptor)

    def _enum(self, field: FieldDescriptor) -> Convert:
        enum = field.enum_type
        assert enum is not None
        names = {v.number: self.enum_name(enum, v.name) for v in enum.values}

        def convert(value: int) -> Any:
            return names.get(value, value)

        return convert

    def _message(self, descriptor: Descriptor) -> Convert | None:
        if descriptor.full_name == _TIMESTAMP:
            return _timestamp
        if descriptor.full_name.startswith("google.protobuf.") or self._plan(descriptor) is None:
            return None
        return lambda value: self._print(value, descriptor)

    def _plan(self, descriptor: Descriptor) -> Plan | None:
        """The printing plan of a message type; None when it needs json_format."""
        name = descriptor.full_name
        if name in self._plans:
            return self._plans[name]
        self._plans[name] = None  # recursion guard: a self-referencing type falls back
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
                convert = self._enum(field)
            elif field.type == F.TYPE_MESSAGE and field.message_type is not None:
                if field.message_type.GetOptions().map_entry:
                    return None
                convert = self._message(field.message_type)
            else:
                convert = None  # float, double, group
            if convert is None:
                return None
            plan.append((field.name, field.has_presence and not field.is_repeated, field.is_repeated, convert))
        self._plans[name] = plan
        return plan

    def _print(self, message: Any, descriptor: Descriptor) -> dict[str, Any]:
        plan = self._plans[descriptor.full_name]
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


_plain = Printer()


def message_to_dict(message: Message) -> dict[str, Any]:
    """`json_format.MessageToDict(message, preserving_proto_field_name=True,
    always_print_fields_with_no_presence=True)`, faster."""
    return _plain.to_dict(message)
