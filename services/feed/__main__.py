"""`koo serve feed`: the feed service process."""

from __future__ import annotations

import asyncio

import grpc

from koo.feed.v1 import feed_service_pb2
from services.feed.domain import FeedDomain
from services.feed.keys import FeedKeys
from services.feed.notifications import NotificationHub, Notifications
from services.feed.peers import FeedPeers
from services.feed.push import NoPush, PushSender, SnsPush
from services.feed.redis_tuning import ensure_compact_timelines
from services.feed.servicer import FeedServicer
from services.feed.settings import FeedSettings
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.kit.wire import add_strict_servicer

SERVICE_NAME = feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"].full_name

SETTINGS_CLASS = FeedSettings


def build_feed(settings: FeedSettings, res: Resources, *, keys: FeedKeys | None = None) -> FeedDomain:
    redis = res.require_redis("the feed service")
    keys = keys or FeedKeys()
    peers = FeedPeers(res.channels, redis, keys=keys, graph_ttl=settings.feed_graph_cache_seconds)
    return FeedDomain(settings, redis=redis, peers=peers, keys=keys)


def build_push(settings: FeedSettings) -> PushSender:
    applications = {"android": settings.push_sns_android_app_arn, "ios": settings.push_sns_ios_app_arn}
    if not any(applications.values()):
        return NoPush()
    return SnsPush(
        applications=applications, region=settings.push_sns_region, endpoint_url=settings.push_sns_endpoint_url
    )


def build_notifications(res: Resources, feed: FeedDomain) -> Notifications:
    assert res.engine is not None and res.redis is not None, "notifications need PostgreSQL and Redis"
    return Notifications(
        engine=res.engine, redis=res.redis, peers=feed.peers, ids=res.ids, push=build_push(feed.settings)
    )


def make_register(settings: FeedSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        feed = build_feed(settings, res)
        if settings.feed_tune_redis:
            await ensure_compact_timelines(feed.redis, entries=settings.feed_timeline_cap + 2)
        hub = NotificationHub(feed.redis)
        res.spawn(hub.run(), name="notification-hub")
        servicer = FeedServicer(feed, build_notifications(res, feed), hub)
        add_strict_servicer(server, servicer, feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"])
        return [SERVICE_NAME]

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="feed", register=make_register(settings)))


if __name__ == "__main__":
    main()
