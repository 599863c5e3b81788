"""`koo serve search`: the search service process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import grpc

from koo.search.v1 import search_service_pb2
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.kit.wire import add_strict_servicer
from services.search.backends import open_backend
from services.search.domain import SearchDomain
from services.search.peers import Peers
from services.search.servicer import SearchServicer
from services.search.settings import SearchSettings
from services.search.vocabulary import words_for

SERVICE_NAME = search_service_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name

SETTINGS_CLASS = SearchSettings


def make_register(settings: SearchSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        backend = await open_backend(settings, res.engine)
        res.on_close(backend.close)
        peers = Peers(res.channels)
        engine = res.engine
        if engine is None:
            raise RuntimeError("the search service needs KOO_DATABASE_URL (its vocabulary lives there)")

        async def vocabulary(keys: Iterable[str], script: str, limit: int) -> list[str]:
            return await words_for(engine, keys=keys, script=script, limit=limit)

        servicer = SearchServicer(SearchDomain(backend, peers), peers, words_for=vocabulary)
        add_strict_servicer(server, servicer, search_service_pb2.DESCRIPTOR.services_by_name["SearchService"])
        return [SERVICE_NAME]

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="search", register=make_register(settings)))


if __name__ == "__main__":
    main()
