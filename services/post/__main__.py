"""`koo serve post`: the post service process."""

from __future__ import annotations

import asyncio
import functools

import grpc

from koo.post.v1 import post_service_pb2
from services.kit.events import StreamConsumer, run_relay
from services.kit.readcache import ReadCache
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.kit.wire import add_strict_servicer
from services.post import store
from services.post.cached import CachedReads, CacheWriter
from services.post.domain import PostDomain
from services.post.moderation import PostModeration
from services.post.peers import Peers
from services.post.servicer import PostServicer
from services.post.settings import PostSettings

SERVICE_NAME = post_service_pb2.DESCRIPTOR.services_by_name["PostService"].full_name

SETTINGS_CLASS = PostSettings


def make_register(settings: PostSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        engine = res.require_engine("the post service")
        cache = ReadCache(res.redis) if res.redis is not None else None
        changes = CacheWriter(cache) if cache else None
        domain = PostDomain(
            engine,
            ids=res.ids,
            peers=Peers(res.channels, cache, redis=res.redis),
            changes=changes,
        )
        moderation = PostModeration(engine, changes=changes)
        add_strict_servicer(
            server,
            PostServicer(domain, CachedReads(domain, cache), moderation),
            post_service_pb2.DESCRIPTOR.services_by_name["PostService"],
        )
        if settings.relay_outbox and res.redis is not None:
            # Posts are written to PostgreSQL only; while Redis is away the relay keeps
            # the events in the outbox and publishes them when it returns.
            res.spawn(
                functools.partial(
                    run_relay, engine, res.redis, schema=store.SCHEMA, retention=settings.outbox_retention
                ),
                name="post-outbox-relay",
            )
        if res.redis is not None:
            # A suspended author's posts are hidden (and shown again when it is lifted).
            consumer = StreamConsumer(
                res.redis, topic="user", group="post-moderation", handler=moderation.apply_user_events
            )
            res.spawn(consumer.run, name="post-moderation")
        return [SERVICE_NAME]

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="post", register=make_register(settings)))


if __name__ == "__main__":
    main()
