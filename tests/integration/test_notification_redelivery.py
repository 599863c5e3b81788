"""Notifications are idempotent per event: a redelivered event (the relay republishing
after a crash, a reclaimed message) never notifies twice, and a late copy of a like cannot
bring back a notification its unlike withdrew.

Events are put on the post stream as the relay writes them, then the feed worker's
consumer group does the rest; the reader sees the result through ListNotifications.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis

from koo.events.v1 import events_pb2 as events_pb
from koo.feed.v1 import feed_service_pb2 as feed_pb
from services.kit.event_types import wrap
from services.kit.events import stream_name
from tests.clients import Account, new_account
from tests.harness import Stack
from tests.posting import eventually, feeds, publish


async def _publish(redis: Redis, event_id: str, payload: events_pb.PostLiked | events_pb.PostUnliked) -> None:
    envelope = wrap(payload, time=datetime.now(UTC))
    envelope.id = event_id
    await redis.xadd(stream_name("post"), {"envelope": envelope.SerializeToString()})


async def _entries(stack: Stack, reader: Account) -> list[feed_pb.Notification]:
    reply = await feeds(stack).ListNotifications(feed_pb.ListNotificationsRequest(), metadata=reader.auth)
    return list(reply.notifications)


async def test_a_redelivered_event_notifies_once_and_cannot_undo_an_unlike(stack: Stack, redis: Redis) -> None:
    author = await new_account(stack.channel("user"))
    fan, other = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    post = await publish(stack, author, "दोहराव")
    marker_post = await publish(stack, author, "निशान")
    like = {"post_id": post.id, "author_id": author.id, "user_id": fan.id}
    liked = f"test:{uuid.uuid4().hex}"

    for _ in range(3):  # the same event, delivered three times
        await _publish(redis, liked, events_pb.PostLiked(**like))
    entries = await eventually(lambda: _entries(stack, author), lambda e: len(e) == 1)
    count = await feeds(stack).GetUnreadNotificationCount(
        feed_pb.GetUnreadNotificationCountRequest(), metadata=author.auth
    )
    assert entries[0].kind == feed_pb.NOTIFICATION_KIND_LIKE and entries[0].actor_count == 1
    assert count.unread_count == 1

    await _publish(redis, f"test:{uuid.uuid4().hex}", events_pb.PostUnliked(**like))
    await eventually(lambda: _entries(stack, author), lambda e: e == [])
    # A late copy of the like, then a marker behind it on the same stream.
    await _publish(redis, liked, events_pb.PostLiked(**like))
    marker = events_pb.PostLiked(post_id=marker_post.id, author_id=author.id, user_id=other.id)
    await _publish(redis, f"test:{uuid.uuid4().hex}", marker)
    entries = await eventually(lambda: _entries(stack, author), lambda e: len(e) >= 1)
    assert [(e.post_id, [a.id for a in e.actors]) for e in entries] == [(marker_post.id, [other.id])]
