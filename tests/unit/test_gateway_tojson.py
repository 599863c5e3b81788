"""The gateway's fast proto3 JSON printer says exactly what json_format says, for every
message of every Koo service, with fields set, unset, defaulted and repeated."""

from __future__ import annotations

import random
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from gateway.tojson import Printer, message_to_dict
from gateway.transcode import _shorten, short_enum_value
from koo.feed.v1 import feed_service_pb2
from koo.media.v1 import media_service_pb2
from koo.post.v1 import post_service_pb2
from koo.search.v1 import search_service_pb2
from koo.user.v1 import user_service_pb2

F = FieldDescriptor
MODULES = [feed_service_pb2, media_service_pb2, post_service_pb2, search_service_pb2, user_service_pb2]
short_names = Printer(enum_name=short_enum_value)
TEXTS = ["", "नमस्ते #भारत", "plain", 'a"quote\\ and \n newline', "😀 emoji"]


def all_messages() -> list[Descriptor]:
    return [d for m in MODULES for d in m.DESCRIPTOR.message_types_by_name.values()]


def fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.3:
            continue  # some fields stay unset
        values = [value(field, message, rng, depth) for _ in range(rng.randint(0, 3) if field.is_repeated else 1)]
        if field.type == F.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry or depth > 3:
                continue
            target = getattr(message, field.name)
            for v in values:
                (target.add() if field.is_repeated else target).CopyFrom(v)
        elif field.is_repeated:
            getattr(message, field.name).extend(values)
        else:
            setattr(message, field.name, values[0])


def value(field: FieldDescriptor, parent: Message, rng: random.Random, depth: int) -> Any:
    if field.type == F.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            sub = GetMessageClass(field.message_type)()
            sub.FromNanoseconds(rng.choice([0, 1_700_000_000_123_000_000, 1_800_000_000_000_000_001]))
            return sub
        sub = GetMessageClass(field.message_type)()
        fill(sub, rng, depth + 1)
        return sub
    if field.type == F.TYPE_ENUM:
        return rng.choice([v.number for v in field.enum_type.values])
    if field.type == F.TYPE_BOOL:
        return rng.random() < 0.5
    if field.type == F.TYPE_STRING:
        return rng.choice(TEXTS)
    if field.type == F.TYPE_BYTES:
        return rng.randbytes(rng.randint(0, 5))
    if field.type in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return rng.choice([0.0, 1.5, -2.25])
    if field.type in (F.TYPE_UINT32, F.TYPE_FIXED32, F.TYPE_UINT64, F.TYPE_FIXED64):
        return rng.choice([0, 1, 2**31, 2**32 - 1] + ([2**63 + 5] if "64" in str(field.type) else []))
    big = field.type in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64)
    return rng.choice([0, 1, -7, 2**31 - 1] + ([386024030248902656, -(2**62)] if big else []))


def samples(descriptor: Descriptor, seed: str) -> list[tuple[Message, dict[str, Any]]]:
    """25 filled messages of this type and what json_format prints for each, plus the empty one."""
    rng = random.Random(seed + descriptor.full_name)
    cls = GetMessageClass(descriptor)
    messages = [cls()]
    for _ in range(25):
        messages.append(cls())
        fill(messages[-1], rng)
    return [
        (m, json_format.MessageToDict(m, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))
        for m in messages
    ]


@pytest.mark.parametrize("descriptor", all_messages(), ids=lambda d: d.full_name)
def test_prints_what_json_format_prints(descriptor: Descriptor) -> None:
    for message, expected in samples(descriptor, ""):
        assert message_to_dict(message) == expected


@pytest.mark.parametrize("descriptor", all_messages(), ids=lambda d: d.full_name)
def test_the_gateways_printer_answers_short_enum_names_as_the_rewrite_did(descriptor: Descriptor) -> None:
    # The gateway prints enum values by their short names in one pass; what it answers must
    # equal json_format's output with the names rewritten afterwards (the earlier way).
    for message, expected in samples(descriptor, "short:"):
        _shorten(descriptor, expected)
        assert short_names.to_dict(message) == expected
