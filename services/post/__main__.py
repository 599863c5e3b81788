"""`koo serve post`: the post service process."""

from __future__ import annotations

import asyncio

import grpc

from koo.post.v1 import post_service_pb2
from services.kit.events import run_relay
from services.kit.readcache import ReadCache
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.kit.wire import add_strict_servicer
from services.post import store
from services.post.cached import CachedReads, CacheWriter
from services.post.domain import PostDomain
from services.post.peers import Peers
from services.post.servicer import PostServicer
from services.post.settings import PostSettings

SERVICE_NAME = post_service_pb2.DESCRIPTOR.services_by_name["PostService"].full_name

SETTINGS_CLASS = PostSettings


def make_register(settings: PostSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        engine = res.require_engine("the post service")
        cache = ReadCache(res.redis) if res.redis is not None else None
        domain = PostDomain(
            engine,
            ids=res.ids,
            peers=Peers(res.channels, cache, redis=res.redis),
            changes=CacheWriter(cache) if cache else None,
        )
        add_strict_servicer(
            server,
            PostServicer(domain, CachedReads(domain, cache)),
            post_service_pb2.DESCRIPTOR.services_by_name["PostService"],
        )
        if settings.relay_outbox and res.redis is not None:
            # Posts are written to PostgreSQL only; while Redis is away the relay keeps
            # the events in the outbox and publishes them when it returns.
            res.spawn(run_relay(engine, res.redis, schema=store.SCHEMA), name="post-outbox-relay")
        return [SERVICE_NAME]

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="post", register=make_register(settings)))


if __name__ == "__main__":
    main()
