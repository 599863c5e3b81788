"""Typed events: the payload messages of protos/koo/events/v1/events.proto and their envelope.

Each payload message names itself with the option `(koo.events.v1.event)`: its type
(`post.created`) and topic (`post`). This module reads those options once, so the type
strings exist only in the proto, and turns payloads into envelopes and back.

Events written before the events were typed are still read (`from_legacy`): outbox rows
with a JSON `payload` and no `envelope`, and stream entries with the fields `id`, `type` and
`data` (JSON). Their objects were flat, with the proto's field names; an event that wraps
one message (`UserCreated.user`, `FollowCreated.follow`, ...) takes the flat object whole,
and enum values written in lower case (`"video"`) map to the enum's value (`MEDIA_KIND_VIDEO`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from koo.events.v1 import events_pb2

Envelope = events_pb2.Envelope


class UndecodableEvent(ValueError):
    """A stream entry or outbox row that is not an event this code can read."""


@dataclass(frozen=True, slots=True)
class EventKind:
    """One payload message and what its `(event)` option says about it."""

    event_type: str  # `post.created`
    topic: str  # `post`: stream koo:events:post
    case: str  # the Envelope's oneof field that carries it, `post_created`
    message: type[Message]
    descriptor: Descriptor


def _read_kinds() -> dict[str, EventKind]:
    kinds: dict[str, EventKind] = {}
    for field in Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields:
        descriptor = field.message_type
        if descriptor is None:
            raise RuntimeError(f"Envelope.{field.name} is not a message")
        options = descriptor.GetOptions().Extensions[events_pb2.event]
        if not options.type or not options.topic:
            raise RuntimeError(f"{descriptor.full_name} lacks the (koo.events.v1.event) option with type and topic")
        message = getattr(events_pb2, descriptor.name)
        kinds[descriptor.full_name] = EventKind(options.type, options.topic, field.name, message, descriptor)
    return kinds


_BY_MESSAGE = _read_kinds()
_BY_TYPE = {kind.event_type: kind for kind in _BY_MESSAGE.values()}


def kind_of(payload: Message) -> EventKind:
    kind = _BY_MESSAGE.get(payload.DESCRIPTOR.full_name)
    if kind is None:
        raise TypeError(f"{payload.DESCRIPTOR.full_name} is not a payload of koo.events.v1.Envelope")
    return kind


def event_topics() -> list[str]:
    """The topics events are published on; each is named after the service that publishes it."""
    return sorted({kind.topic for kind in _BY_TYPE.values()})


def wrap(payload: Message, *, time: datetime, traceparent: str = "", tracestate: str = "") -> events_pb2.Envelope:
    """The envelope of `payload` (its `id` is given by the relay, from the outbox row)."""
    kind = kind_of(payload)
    envelope = Envelope(type=kind.event_type, traceparent=traceparent, tracestate=tracestate)
    envelope.time.FromDatetime(time)
    getattr(envelope, kind.case).CopyFrom(payload)
    return envelope


def payload_of(envelope: events_pb2.Envelope) -> Message | None:
    """The typed payload; None for an event type this code does not know yet."""
    case = envelope.WhichOneof("payload")
    payload: Message | None = getattr(envelope, case) if case else None
    return payload


def from_legacy(event_type: str, data: dict[str, Any]) -> Message | None:
    """The typed payload of a pre-proto JSON event; None for a type that no longer exists."""
    kind = _BY_TYPE.get(event_type)
    if kind is None:
        return None
    message: Message = kind.message()
    fields = kind.descriptor.fields
    if len(fields) == 1 and fields[0].message_type is not None:
        data = {fields[0].name: _legacy_enums(fields[0].message_type.fields, data)}
    else:
        data = _legacy_enums(fields, data)
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise UndecodableEvent(f"legacy {event_type} event does not fit {message.DESCRIPTOR.name}: {exc}") from exc
    return message


def _legacy_enums(fields: Iterable[FieldDescriptor], data: dict[str, Any]) -> dict[str, Any]:
    fixed = dict(data)
    for field in fields:
        value = fixed.get(field.name)
        if field.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str) and field.enum_type is not None:
            names = field.enum_type.values_by_name
            if value not in names:
                suffix = "_" + value.upper()
                fixed[field.name] = next((name for name in names if name.endswith(suffix)), value)
    return fixed
