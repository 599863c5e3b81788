"""`koo serve search`: the search service process."""

from __future__ import annotations

import asyncio

import grpc

from koo.search.v1 import search_service_pb2, search_service_pb2_grpc
from services.kit.server import Register, Resources, run_service
from services.kit.settings import KitSettings, load_settings

SERVICE_NAME = search_service_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name


SETTINGS_CLASS = KitSettings


def make_register(settings: KitSettings) -> Register:
    return register


async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
    # The generated base class answers UNIMPLEMENTED until the RPCs are written.
    search_service_pb2_grpc.add_SearchServiceServicer_to_server(search_service_pb2_grpc.SearchServiceServicer(), server)
    return [SERVICE_NAME]


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="search", register=make_register(settings)))


if __name__ == "__main__":
    main()
