"""`koo serve media-worker`: transcodes uploaded audio and video (consumer group `media-worker`).

Runs as its own process so ffmpeg's CPU and memory scale apart from the upload path
(KEDA scales it on the stream's lag in production).
"""

from __future__ import annotations

import asyncio

import grpc

from services.kit.events import StreamConsumer, consumer_name
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.media.processing import MediaProcessor
from services.media.settings import MediaSettings
from services.media.storage import build_storage

SETTINGS_CLASS = MediaSettings


def make_register(settings: MediaSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        engine, redis = res.require_engine("the media-worker"), res.require_redis("the media-worker")
        storage = build_storage(settings)
        res.on_close(storage.close)
        processor = MediaProcessor(
            engine,
            storage,
            tmp_dir=settings.media_tmp_dir,
            ffmpeg=settings.ffmpeg_path,
            ffprobe=settings.ffprobe_path,
            timeout=settings.transcode_timeout,
            lease_seconds=settings.transcode_lease,
        )
        base = consumer_name()
        for n in range(max(1, settings.media_worker_concurrency)):
            consumer = StreamConsumer(
                redis,
                topic="media",
                group="media-worker",
                handler=processor.handle,
                name=f"{base}-{n}",
                # One transcode per read: a message is never held unprocessed behind others,
                # and is only reclaimed from a consumer after a transcode could have finished.
                batch=1,
                claim_idle_ms=int(settings.transcode_lease * 1000),
            )
            res.spawn(consumer.run, name=f"media-worker-{n}")
        return []

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="media-worker", register=make_register(settings)))


if __name__ == "__main__":
    main()
