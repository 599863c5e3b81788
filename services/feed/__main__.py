"""`koo serve feed`: the feed service process."""

from __future__ import annotations

import asyncio

import grpc

from koo.feed.v1 import feed_service_pb2, feed_service_pb2_grpc
from services.kit.server import Register, Resources, run_service
from services.kit.settings import KitSettings, load_settings

SERVICE_NAME = feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"].full_name


SETTINGS_CLASS = KitSettings


def make_register(settings: KitSettings) -> Register:
    return register


async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
    # The generated base class answers UNIMPLEMENTED until the RPCs are written.
    feed_service_pb2_grpc.add_FeedServiceServicer_to_server(feed_service_pb2_grpc.FeedServiceServicer(), server)
    return [SERVICE_NAME]


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="feed", register=make_register(settings)))


if __name__ == "__main__":
    main()
