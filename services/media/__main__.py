"""`koo serve media`: the media service process."""

from __future__ import annotations

import asyncio

import grpc

from koo.media.v1 import media_service_pb2, media_service_pb2_grpc
from services.kit.server import Register, Resources, run_service
from services.kit.settings import KitSettings, load_settings

SERVICE_NAME = media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name


SETTINGS_CLASS = KitSettings


def make_register(settings: KitSettings) -> Register:
    return register


async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
    # The generated base class answers UNIMPLEMENTED until the RPCs are written.
    media_service_pb2_grpc.add_MediaServiceServicer_to_server(media_service_pb2_grpc.MediaServiceServicer(), server)
    return [SERVICE_NAME]


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="media", register=make_register(settings)))


if __name__ == "__main__":
    main()
