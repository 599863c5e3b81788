"""Events as typed messages, and the JSON events written before them still read the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from koo.events.v1 import events_pb2 as events_pb
from koo.media.v1 import media_service_pb2 as media_pb
from services.kit.event_types import UndecodableEvent, event_topics, from_legacy, kind_of, payload_of, wrap
from services.kit.events import decode_entry


def test_each_event_type_names_its_topic_in_the_proto() -> None:
    assert kind_of(events_pb.PostCreated()).event_type == "post.created"
    assert kind_of(events_pb.FollowDeleted()).topic == "user"
    assert event_topics() == ["media", "post", "user"]


def test_a_published_envelope_decodes_to_the_same_payload() -> None:
    follow = events_pb.FollowCreated(follow=events_pb.Follow(follower_id=1, followee_id=2, languages=["hi", "ta"]))
    envelope = wrap(
        follow, time=datetime(2026, 1, 2, tzinfo=UTC), traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    )
    envelope.id = "koo_user:9"
    event = decode_entry(b"1700000000000-0", {b"envelope": envelope.SerializeToString()})
    assert event.event_id == "koo_user:9" and event.event_type == "follow.created"
    assert event.payload == follow
    assert event.envelope.traceparent.startswith("00-aaaa")


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        (
            "user.updated",
            {"user_id": 5, "handle": "asha", "display_name": "Asha", "bio": "", "languages": ["hi"], "verified": False},
            events_pb.UserUpdated(
                user=events_pb.UserProfile(user_id=5, handle="asha", display_name="Asha", languages=["hi"])
            ),
        ),
        (
            "follow.updated",
            {"follower_id": 1, "followee_id": 2, "languages": ["bn"]},
            events_pb.FollowUpdated(follow=events_pb.Follow(follower_id=1, followee_id=2, languages=["bn"])),
        ),
        (
            "block.deleted",
            {"blocker_id": 3, "blocked_id": 4},
            events_pb.BlockDeleted(block=events_pb.Block(blocker_id=3, blocked_id=4)),
        ),
        (
            "mute.created",
            {"muter_id": 3, "muted_id": 4},
            events_pb.MuteCreated(mute=events_pb.Mute(muter_id=3, muted_id=4)),
        ),
        (
            "post.deleted",
            {"post_id": 8, "author_id": 1, "language": "ta", "hashtags": ["x"], "reply_to_id": None, "repost_of_id": 7},
            events_pb.PostDeleted(post_id=8, author_id=1, language="ta", hashtags=["x"], repost_of_id=7),
        ),
        (
            "media.uploaded",
            {"media_id": 6, "owner_id": 1, "kind": "audio"},
            events_pb.MediaUploaded(media_id=6, owner_id=1, kind=media_pb.MEDIA_KIND_AUDIO),
        ),
    ],
)
def test_a_legacy_json_event_becomes_its_typed_message(
    event_type: str, data: dict[str, object], expected: object
) -> None:
    assert from_legacy(event_type, data) == expected
    entry = {b"id": b"koo_x:1", b"type": event_type.encode(), b"data": json.dumps(data).encode()}
    event = decode_entry(b"1700000000000-3", entry)
    assert event.payload == expected and event.event_id == "koo_x:1"
    assert event.envelope.time.ToMilliseconds() == 1700000000000


def test_an_unknown_legacy_type_has_no_payload() -> None:
    event = decode_entry(b"1-0", {b"id": b"koo_x:2", b"type": b"poll.created", b"data": b"{}"})
    assert event.event_type == "poll.created" and event.payload is None
    assert payload_of(events_pb.Envelope(type="poll.created")) is None


@pytest.mark.parametrize(
    "fields",
    [
        {b"envelope": b"\xff\xff\xff"},
        {b"id": b"koo_x:3", b"type": b"post.created", b"data": b"{not json"},
        {b"id": b"koo_x:3", b"type": b"post.created", b"data": b'{"post_id": "many"}'},
    ],
)
def test_an_entry_that_is_no_event_is_refused_by_name(fields: dict[bytes, bytes]) -> None:
    with pytest.raises(UndecodableEvent, match="1-0"):
        decode_entry(b"1-0", fields)
