"""`koo serve media`: the media service process."""

from __future__ import annotations

import asyncio
import functools

import grpc

from koo.media.v1 import media_service_pb2
from services.kit.events import StreamConsumer, run_relay
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.kit.wire import add_strict_servicer
from services.media import store
from services.media.decode_budget import DecodeBudget
from services.media.domain import MediaDomain
from services.media.peers import MediaPeers, PostAttachments
from services.media.servicer import MediaServicer
from services.media.settings import MediaSettings
from services.media.storage import build_storage

SERVICE_NAME = media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name


SETTINGS_CLASS = MediaSettings


def make_register(settings: MediaSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        engine, redis = res.require_engine("the media service"), res.require_redis("the media service")
        storage = build_storage(settings)
        res.on_close(storage.close)
        domain = MediaDomain(
            engine,
            ids=res.ids,
            storage=storage,
            tmp_dir=settings.media_tmp_dir,
            ffprobe=settings.ffprobe_path,
            probe_timeout=settings.probe_timeout,
            block_set=MediaPeers(res.channels, redis).block_set,
            decode_budget=DecodeBudget(
                capacity_bytes=settings.image_decode_budget_mb * 2**20, wait=settings.image_decode_wait
            ),
        )
        add_strict_servicer(
            server, MediaServicer(domain), media_service_pb2.DESCRIPTOR.services_by_name["MediaService"]
        )
        res.spawn(
            functools.partial(run_relay, engine, redis, schema=store.SCHEMA, retention=settings.outbox_retention),
            name="media-outbox-relay",
        )
        # Media becomes visible beyond its owner when a post holds it (post events).
        attachments = StreamConsumer(
            redis, topic="post", group="media-attachments", handler=PostAttachments(engine).handle
        )
        res.spawn(attachments.run, name="media-attachments")
        return [SERVICE_NAME]

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="media", register=make_register(settings)))


if __name__ == "__main__":
    main()
