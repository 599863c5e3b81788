"""Notifications: what the reader hears about (mentions, replies, likes, re-koos, follows).

Rows are written by the feed worker from the post and user events (`apply`), once per event
id, and withdrawn when their cause is undone (unlike, unfollow, a deleted or removed post, a
block). Reads group them per post and kind, newest first, leave out anyone the reader
blocked, was blocked by or muted, and count the entries newer than the reader's read mark.
New entries are announced on one Redis channel; each feed process fans them out to its
open streams (`NotificationHub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koo.errors.v1.error_reason_pb2 import ErrorReason
from koo.events.v1 import events_pb2 as events_pb
from koo.feed.v1 import feed_service_pb2 as pb
from services.feed import notification_store as store
from services.feed.peers import FeedPeers
from services.feed.push import PLATFORMS, EndpointGone, NoPush, PushSender
from services.kit.errors import InvalidArgument, NotFound
from services.kit.events import Event
from services.kit.ids import Snowflake
from services.kit.paging import decode_token, encode_token
from services.kit.pubsub import Subscription, detached

log = logging.getLogger("koo.feed.notifications")

MENTION = pb.NOTIFICATION_KIND_MENTION
REPLY = pb.NOTIFICATION_KIND_REPLY
LIKE = pb.NOTIFICATION_KIND_LIKE
REPOST = pb.NOTIFICATION_KIND_REPOST
FOLLOW = pb.NOTIFICATION_KIND_FOLLOW
MODERATION = pb.NOTIFICATION_KIND_MODERATION

CHANNEL = "koo:notifications"
_VERBS: dict[int, str] = {
    MENTION: "mentioned you",
    REPLY: "replied to your post",
    LIKE: "liked your post",
    REPOST: "re-kooed your post",
    FOLLOW: "followed you",
}


def summary(kind: int, names: Sequence[str], count: int, *, post_id: int = 0) -> str:
    """'Asha liked your post', 'Asha and Ravi ...', 'Asha and 12 others ...'."""
    if kind == MODERATION:
        what = "your post" if post_id else "your account"
        return f"Koo's moderators acted on {what}: see your moderation actions for what and why"
    first = names[0] if names else "Someone"
    others = count - 1
    if others <= 0:
        who = first
    elif others == 1 and len(names) > 1:
        who = f"{first} and {names[1]}"
    else:
        who = f"{first} and {others} others" if others > 1 else f"{first} and 1 other"
    return f"{who} {_VERBS.get(kind, 'did something')}"


def caused_by(event: Event) -> list[store.NewNotification]:
    """The notifications an event causes (never to the actor themself)."""
    out: list[store.NewNotification] = []
    match event.payload:
        case events_pb.PostCreated() as post:
            told: set[int] = {post.author_id}
            parent_author = post.parent_author_id
            if post.reply_to_id and parent_author not in told:
                out.append(store.NewNotification(parent_author, REPLY, post.author_id, post.reply_to_id, post.post_id))
                told.add(parent_author)
            if post.repost_of_id and parent_author not in told:
                out.append(
                    store.NewNotification(parent_author, REPOST, post.author_id, post.repost_of_id, post.post_id)
                )
                told.add(parent_author)
            for mentioned in post.mention_ids:
                if mentioned not in told:
                    out.append(store.NewNotification(mentioned, MENTION, post.author_id, post.post_id, post.post_id))
                    told.add(mentioned)
        case events_pb.PostLiked() as like if like.author_id != like.user_id:
            out.append(store.NewNotification(like.author_id, LIKE, like.user_id, like.post_id))
        case events_pb.FollowCreated(follow=follow) if follow.follower_id != follow.followee_id:
            out.append(store.NewNotification(follow.followee_id, FOLLOW, follow.follower_id))
        case events_pb.ModerationActioned() as action:
            out.append(store.NewNotification(action.user_id, MODERATION, 0, action.post_id, action.action_id))
    return [n for n in out if n.recipient_id > 0]


async def _withdraw(db: AsyncConnection, event: Event) -> None:
    """Undo what an event's cause notified."""
    match event.payload:
        case events_pb.PostDeleted() as post:  # deleted by the author, removed, or hidden
            await store.withdraw_post(db, post_id=post.post_id)
        case events_pb.PostUnliked() as like:
            await store.withdraw(
                db, recipient_id=like.author_id, kind=LIKE, actor_id=like.user_id, post_id=like.post_id
            )
        case events_pb.FollowDeleted(follow=follow):
            await store.withdraw(db, recipient_id=follow.followee_id, kind=FOLLOW, actor_id=follow.follower_id)
        case events_pb.BlockCreated(block=block):
            await store.withdraw_between(db, a=block.blocker_id, b=block.blocked_id)


@dataclass(frozen=True, slots=True)
class Page:
    notifications: list[pb.Notification]
    next_page_token: str


class Notifications:
    def __init__(
        self, *, engine: AsyncEngine, redis: Redis, peers: FeedPeers, ids: Snowflake, push: PushSender | None = None
    ) -> None:
        self.engine = engine
        self.redis = redis
        self.peers = peers
        self.ids = ids
        self.push: PushSender = push or NoPush()

    # Written by the worker ------------------------------------------------------------

    async def apply(self, events: list[Event]) -> None:
        """Turn a batch of events into notifications, each event once (redeliveries are skipped)."""
        told: list[store.NewNotification] = []
        async with self.engine.begin() as db:
            for event in events:
                if not await store.first_time(db, event_id=event.event_id or event.message_id):
                    continue
                new = caused_by(event)
                if new:
                    told += await store.insert(db, ids=[self.ids.next_id() for _ in new], rows=new)
                else:
                    await _withdraw(db, event)
        if told:
            # After the commit: a stream woken by this finds the rows.
            pipe = self.redis.pipeline(transaction=False)
            for recipient in dict.fromkeys(n.recipient_id for n in told):
                pipe.publish(CHANNEL, str(recipient))
            await pipe.execute()
            await self._push(told)

    async def _push(self, told: list[store.NewNotification]) -> None:
        """Push each new notification to its recipient's phones. A push that fails is logged,
        never retried through the stream: the list and the live stream still have it."""
        try:
            async with self.engine.connect() as db:
                devices = await store.devices_of(db, user_ids=sorted({n.recipient_id for n in told}))
            if not devices:
                return
            by_user: dict[int, list[store.Device]] = defaultdict(list)
            for device in devices:
                by_user[device.user_id].append(device)
            wanted = [n for n in told if n.recipient_id in by_user]
            names = await self.peers.user_summaries([n.actor_id for n in wanted if n.actor_id])
            sends = []
            for n in wanted:
                graph = await self.peers.graph(n.recipient_id)
                if n.actor_id in graph.blocked or n.actor_id in graph.muted:
                    continue
                actor = names.get(n.actor_id)
                text = summary(n.kind, [actor.display_name or actor.handle] if actor else [], 1, post_id=n.post_id)
                data = {"kind": pb.NotificationKind.Name(n.kind), "post_id": str(n.post_id)}  # type: ignore[arg-type]
                sends += [self._send(d.endpoint, text, data) for d in by_user[n.recipient_id]]
            await asyncio.gather(*sends)
        except Exception as exc:  # noqa: BLE001 - push is best effort
            log.warning("push not delivered: %s", exc)

    async def _send(self, endpoint: str, text: str, data: dict[str, str]) -> None:
        try:
            await self.push.send(endpoint, title="Koo", body=text, data=data)
        except EndpointGone:
            async with self.engine.begin() as db:
                await store.forget_endpoint(db, endpoint=endpoint)
        except Exception as exc:  # noqa: BLE001 - one device failing does not stop the others
            log.warning("push to %s failed: %s", endpoint, exc)

    async def register_device(self, *, user_id: int, platform: int, token: str) -> store.Device:
        violations: dict[str, str] = {}
        if platform not in (pb.PUSH_PLATFORM_ANDROID, pb.PUSH_PLATFORM_IOS):
            violations["platform"] = f"platform must be one of {', '.join(PLATFORMS)}"
        if not token.strip() or len(token) > 4096 or not token.isprintable():
            violations["token"] = "token must be the 1-4096 character token FCM or APNs gave the app"
        if violations:
            raise InvalidArgument(violations)
        name = PLATFORMS[0] if platform == pb.PUSH_PLATFORM_ANDROID else PLATFORMS[1]
        endpoint = await self.push.register(platform=name, token=token, user_id=user_id)
        async with self.engine.begin() as db:
            return await store.upsert_device(
                db, device_id=self.ids.next_id(), user_id=user_id, platform=platform, token=token, endpoint=endpoint
            )

    async def delete_device(self, *, user_id: int, device_id: int) -> None:
        async with self.engine.begin() as db:
            endpoint = await store.delete_device(db, device_id=device_id, user_id=user_id)
        if endpoint is None:
            raise NotFound(f"you have no device {device_id}", reason=ErrorReason.DEVICE_NOT_FOUND)
        await self.push.unregister(endpoint)

    async def forget_old_events(self, *, days: int = 7) -> None:
        async with self.engine.begin() as db:
            await store.forget_old_events(db, older_than_days=days)

    # Read by the reader ---------------------------------------------------------------

    async def _hidden(self, reader: int) -> list[int]:
        graph = await self.peers.graph(reader)
        return sorted(graph.blocked | graph.muted)

    async def page(self, *, reader: int, size: int, page_token: str) -> Page:
        cursor = decode_token(page_token, kind="notifications")
        before = 0
        if cursor is not None:
            before = cursor.get("b", 0)
            if not isinstance(before, int) or isinstance(before, bool) or before <= 0:
                raise InvalidArgument("page_token", message="page_token is not a token this list issued")
        hidden = await self._hidden(reader)
        async with self.engine.connect() as db:
            groups = await store.groups(db, recipient_id=reader, hidden=hidden, before_id=before, limit=size + 1)
            mark = await store.read_mark(db, recipient_id=reader)
        more = len(groups) > size
        groups = groups[:size]
        token = encode_token({"k": "notifications", "b": groups[-1].id}) if more else ""
        return Page(await self._views(groups, mark), token)

    async def unread(self, *, reader: int) -> int:
        hidden = await self._hidden(reader)
        async with self.engine.connect() as db:
            return await store.unread_count(db, recipient_id=reader, hidden=hidden)

    async def mark_read(self, *, reader: int, up_to_id: int) -> int:
        if up_to_id < 0:
            raise InvalidArgument("up_to_id", message="up_to_id must be a notification id or 0")
        async with self.engine.begin() as db:
            await store.mark_read(db, recipient_id=reader, up_to_id=up_to_id)
        return await self.unread(reader=reader)

    async def newer_than(self, *, reader: int, after_id: int) -> list[pb.Notification]:
        """Entries whose newest event is past `after_id`, oldest first (the order to send them)."""
        hidden = await self._hidden(reader)
        async with self.engine.connect() as db:
            groups = await store.groups(db, recipient_id=reader, hidden=hidden, before_id=0, limit=100)
            mark = await store.read_mark(db, recipient_id=reader)
        fresh = [g for g in groups if g.id > after_id]
        return list(reversed(await self._views(fresh, mark)))

    async def newest_id(self, *, reader: int) -> int:
        async with self.engine.connect() as db:
            groups = await store.groups(db, recipient_id=reader, hidden=[], before_id=0, limit=1)
        return groups[0].id if groups else 0

    async def _views(self, groups: list[store.Group], mark: int) -> list[pb.Notification]:
        users = await self.peers.user_summaries([a for g in groups for a in g.actor_ids])
        out: list[pb.Notification] = []
        for g in groups:
            actors = [users[a] for a in g.actor_ids if a in users]
            when = Timestamp()
            when.FromDatetime(g.updated_at)
            out.append(
                pb.Notification(
                    id=g.id,
                    kind=g.kind,  # type: ignore[arg-type]
                    post_id=g.post_id,
                    latest_post_id=g.latest_subject_id if g.kind in (REPLY, REPOST) else 0,
                    actors=actors,
                    actor_count=0 if g.kind == MODERATION else g.actor_count,
                    summary=summary(
                        g.kind, [a.display_name or a.handle for a in actors], g.actor_count, post_id=g.post_id
                    ),
                    unread=g.id > mark,
                    update_time=when,
                )
            )
        return out


class NotificationHub:
    """One Redis subscription per process, fanned out to the streams open in it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._waiters: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._stopped = False

    @contextlib.contextmanager
    def watch(self, reader: int) -> Any:
        wake = asyncio.Event()
        self._waiters[reader].add(wake)
        try:
            yield wake
        finally:
            self._waiters[reader].discard(wake)
            if not self._waiters[reader]:
                del self._waiters[reader]

    async def run(self) -> None:
        try:
            await detached(self._listen())
        finally:
            self._stopped = True  # a read that swallowed its cancellation ends here

    async def _listen(self) -> None:
        backoff = 0.1
        while not self._stopped:
            try:
                async with Subscription(self.redis, CHANNEL) as subscription:
                    backoff = 0.1
                    self._wake_all()  # anything missed while disconnected is fetched again
                    while not self._stopped:
                        data = await subscription.next(timeout=5.0)
                        if data is None:
                            continue
                        reader = int(data.decode() if isinstance(data, bytes) else data)
                        for wake in self._waiters.get(reader, ()):
                            wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: resubscribe with backoff
                if self._stopped:
                    return
                log.warning("notification hub waiting for Redis: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for wake in waiters:
                wake.set()

    async def stream(
        self, notifications: Notifications, *, reader: int, after_id: int, heartbeat: float = 25.0
    ) -> AsyncIterator[tuple[pb.Notification, int] | None]:
        """Entries past `after_id`, then each new one; None first (the stream is open: callers
        learn of a refusal at once) and now and then as a keep-alive."""
        yield None
        with self.watch(reader) as wake:
            last = after_id if after_id > 0 else await notifications.newest_id(reader=reader)
            while True:
                wake.clear()
                fresh = await notifications.newer_than(reader=reader, after_id=last)
                if fresh:
                    count = await notifications.unread(reader=reader)
                    for entry in fresh:
                        last = max(last, entry.id)
                        yield entry, count
                try:
                    await asyncio.wait_for(wake.wait(), heartbeat)
                except TimeoutError:
                    yield None
