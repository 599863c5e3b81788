"""`koo serve feed-worker`: fanout on write, graph changes, trends and the read caches, from events.

Consumes topic `post` and topic `user` in consumer groups `feed-fanout` and `read-cache`,
and both again in group `feed-notifications` (notifications.py): a slow notification write
never holds back fanout, and each group acknowledges only its own effects. Several post
consumers run side by side (they share the group, so each message goes to one of them);
a consumer that dies mid-batch leaves its messages pending, and another reclaims them
after `KOO_FEED_CLAIM_IDLE_MS`.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from services.feed.__main__ import build_feed, build_notifications
from services.feed.cache_keeper import GROUP as CACHE_GROUP
from services.feed.cache_keeper import CacheKeeper
from services.feed.fanout import Fanout
from services.feed.notifications import Notifications
from services.feed.redis_tuning import ensure_compact_timelines
from services.feed.settings import FeedSettings
from services.kit.events import StreamConsumer, consumer_name
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings

SETTINGS_CLASS = FeedSettings
GROUP = "feed-fanout"
NOTIFICATIONS_GROUP = "feed-notifications"
LEDGER_TRIM_SECONDS = 3600.0


def make_register(settings: FeedSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        feed = build_feed(settings, res)
        if settings.feed_tune_redis:
            await ensure_compact_timelines(feed.redis, entries=settings.feed_timeline_cap + 2)
        fanout = Fanout(feed, batch=settings.feed_fanout_batch, follower_page=settings.feed_follower_page)
        base = consumer_name()
        for i in range(settings.feed_post_consumers):
            consumer = StreamConsumer(
                feed.redis,
                topic="post",
                group=GROUP,
                handler=fanout.handle_post_events,
                name=f"{base}-post-{i}",
                claim_idle_ms=settings.feed_claim_idle_ms,
            )
            res.spawn(consumer.run, name=f"feed-fanout-post-{i}")
        users = StreamConsumer(
            feed.redis,
            topic="user",
            group=GROUP,
            handler=fanout.handle_user_events,
            name=f"{base}-user",
            claim_idle_ms=settings.feed_claim_idle_ms,
        )
        res.spawn(users.run, name="feed-fanout-user")
        # The read caches: one consumer per topic keeps each topic's events in commit order.
        keeper = CacheKeeper(feed.cache)
        for topic, handler in (("post", keeper.handle_post_events), ("user", keeper.handle_user_events)):
            consumer = StreamConsumer(
                feed.redis,
                topic=topic,
                group=CACHE_GROUP,
                handler=handler,
                name=f"{base}-cache-{topic}",
                claim_idle_ms=settings.feed_claim_idle_ms,
            )
            res.spawn(consumer.run, name=f"read-cache-{topic}")
        notifications = build_notifications(res, feed)
        for topic in ("post", "user"):
            consumer = StreamConsumer(
                feed.redis,
                topic=topic,
                group=NOTIFICATIONS_GROUP,
                handler=notifications.apply,
                name=f"{base}-notify-{topic}",
                claim_idle_ms=settings.feed_claim_idle_ms,
            )
            res.spawn(consumer.run, name=f"feed-notifications-{topic}")
        res.spawn(lambda: _trim_ledger(notifications), name="feed-notifications-ledger")
        return []

    return register


async def _trim_ledger(notifications: Notifications) -> None:
    while True:
        await asyncio.sleep(LEDGER_TRIM_SECONDS)
        try:
            await notifications.forget_old_events()
        except Exception as exc:  # noqa: BLE001 - PostgreSQL away: try again next time
            logging.getLogger("koo.feed.worker").warning("notification ledger not trimmed: %s", exc)


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="feed-worker", register=make_register(settings)))


if __name__ == "__main__":
    main()
