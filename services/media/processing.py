"""The media-worker's job: turn an uploaded audio/video source into its served renditions.

Idempotent on redelivery: a lease on the row lets one worker at a time transcode an item,
and the final update applies only while the item is still `processing`. Problems with the
file itself end in `failed` with a reason; problems with the platform (storage, database)
raise, so the event is delivered again.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from koo.events.v1 import events_pb2 as events_pb
from services.kit.events import Event
from services.media import av, store
from services.media.binaries import ffmpeg_command, ffprobe_command
from services.media.images import THUMBNAIL_MAX_SIDE
from services.media.limits import MAX_DURATION_MS, Kind, too_long
from services.media.storage import MediaStorage
from services.media.store import MediaRow

log = logging.getLogger("koo.media.worker")

# Transcodes are cut just past the limit, so a file whose header understated its length
# costs a bounded amount of work and is still recognised as too long.
_CUT_SECONDS = MAX_DURATION_MS / 1000 + 1
# AAC priming and container rounding add a few tens of ms to a file of exactly 60 s.
_DURATION_SLACK_MS = 250


class Unprocessable(Exception):
    """The file cannot become a rendition; the message is the item's failure_reason."""


@dataclass(frozen=True, slots=True)
class Rendition:
    path: Path
    content_type: str
    width: int
    height: int
    duration_ms: int
    poster: Path | None


class MediaProcessor:
    def __init__(
        self,
        engine: AsyncEngine,
        storage: MediaStorage,
        *,
        tmp_dir: Path | None = None,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        timeout: float = 300.0,
        lease_seconds: float = 660.0,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.tmp_dir = tmp_dir
        self.ffmpeg = ffmpeg_command(ffmpeg)
        self.ffprobe = ffprobe_command(ffprobe)
        self.timeout = timeout
        self.lease_seconds = lease_seconds

    async def handle(self, events: list[Event]) -> None:
        """StreamConsumer handler for topic `media`."""
        for event in events:
            if isinstance(event.payload, events_pb.MediaUploaded):
                await self.process(event.payload.media_id)

    async def process(self, media_id: int) -> None:
        async with self.engine.begin() as db:
            row = await store.claim_for_processing(db, media_id=media_id, lease_seconds=self.lease_seconds)
        if row is None:
            # Unknown, already finished (a redelivery), or being transcoded elsewhere.
            return
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="koo-transcode-", dir=self.tmp_dir))
        try:
            try:
                rendition = await self._render(row, work)
            except Unprocessable as exc:
                await self._fail(row, str(exc))
                return
            await self._publish(row, rendition)
        except BaseException:
            # A platform problem (or shutdown): let the next delivery retry at once.
            async with self.engine.begin() as db:
                await store.release_lease(db, media_id=row.id)
            raise
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def _render(self, row: MediaRow, work: Path) -> Rendition:
        source = work / "source"
        await self.storage.fetch(row.source_key, source)
        is_video = row.kind is Kind.VIDEO
        out = work / ("video.mp4" if is_video else "audio.m4a")
        transcode = av.transcode_video if is_video else av.transcode_audio
        noun = "video" if is_video else "audio"
        try:
            await transcode(
                source,
                out,
                demuxer=row.source_demuxer,
                max_seconds=_CUT_SECONDS,
                ffmpeg=self.ffmpeg,
                max_runtime=self.timeout,
            )
            result = await av.probe(out, demuxer="mov", ffprobe=self.ffprobe, max_runtime=60)
        except av.AvTimeout as exc:
            raise Unprocessable(f"the {noun} took too long to process") from exc
        except av.AvError as exc:
            log.warning("media %s: transcoding failed: %s %s", row.id, exc, exc.stderr[-500:])
            raise Unprocessable(f"the {noun} could not be decoded") from exc
        duration = result.duration_ms or 0
        if duration > MAX_DURATION_MS + _DURATION_SLACK_MS:
            raise Unprocessable(too_long(duration).message)
        poster_path: Path | None = None
        if is_video:
            poster_path = work / "poster.jpg"
            try:
                await av.poster(
                    out,
                    poster_path,
                    at_seconds=min(1.0, duration / 2000),
                    max_side=THUMBNAIL_MAX_SIDE,
                    ffmpeg=self.ffmpeg,
                    max_runtime=60,
                )
            except av.AvError as exc:
                # A video without a poster still plays; clients fall back to a placeholder.
                log.warning("media %s: no poster frame: %s %s", row.id, exc, exc.stderr[-300:])
                poster_path = None
        return Rendition(
            path=out,
            content_type="video/mp4" if is_video else "audio/mp4",
            width=result.width,
            height=result.height,
            duration_ms=duration,
            poster=poster_path if poster_path and poster_path.exists() else None,
        )

    async def _publish(self, row: MediaRow, rendition: Rendition) -> None:
        key = f"{row.id}/{rendition.path.name}"
        await self.storage.put_file(key, rendition.path, content_type=rendition.content_type)
        thumb_key = ""
        thumb_size = 0
        if rendition.poster is not None:
            thumb_key = f"{row.id}/thumbnail.jpg"
            thumb_size = rendition.poster.stat().st_size
            await self.storage.put_file(thumb_key, rendition.poster, content_type="image/jpeg")
        async with self.engine.begin() as db:
            done = await store.mark_ready(
                db,
                media_id=row.id,
                content_type=rendition.content_type,
                size_bytes=rendition.path.stat().st_size,
                width=rendition.width,
                height=rendition.height,
                duration_ms=rendition.duration_ms,
                storage_key=key,
                thumbnail_key=thumb_key,
                thumbnail_size_bytes=thumb_size,
            )
        if done:
            await self._drop_source(row)
            log.info("media %s ready (%s, %d ms)", row.id, rendition.content_type, rendition.duration_ms)

    async def _fail(self, row: MediaRow, reason: str) -> None:
        async with self.engine.begin() as db:
            done = await store.mark_failed(db, media_id=row.id, reason=reason)
        if done:
            await self._drop_source(row)
            log.info("media %s failed: %s", row.id, reason)

    async def _drop_source(self, row: MediaRow) -> None:
        # The upload as sent may carry metadata we promised not to keep; once the item is
        # settled nothing reads it again.
        try:
            await self.storage.delete(row.source_key)
        except Exception:
            log.warning("media %s: could not delete the source %s", row.id, row.source_key, exc_info=True)
