"""Media rules: receiving uploads, judging and checking them, reads. Knows nothing of gRPC."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncEngine

from koo.events.v1 import events_pb2 as events_pb
from services.kit.errors import ErrorReason, FailedPrecondition, InvalidArgument, NotFound
from services.kit.events import add_event
from services.kit.ids import Snowflake
from services.media import av, images, store
from services.media.binaries import ffprobe_command
from services.media.decode_budget import DecodeBudget, decode_cost
from services.media.guard import UploadGuard
from services.media.limits import (
    AUDIO_MAX_BYTES,
    KIND_PROTO,
    MAX_DURATION_MS,
    MAX_REQUEST_ID,
    Kind,
    Rejected,
    Status,
    too_large,
    too_long,
    unsupported_type,
)
from services.media.sniff import Sniffed
from services.media.storage import MediaStorage
from services.media.store import MediaRow, NewMedia

log = logging.getLogger("koo.media")

MAX_BATCH = 500
RENDITIONS = ("original", "thumbnail")


@dataclass(frozen=True, slots=True)
class UploadMeta:
    content_type: str = ""
    filename: str = ""
    request_id: str = ""
    declared_size: int = 0


@dataclass(frozen=True, slots=True)
class Received:
    path: Path
    size: int
    sniffed: Sniffed


@dataclass(frozen=True, slots=True)
class Content:
    """Bytes to stream, or a signed URL to send the client to instead."""

    content_type: str
    size: int
    redirect_url: str = ""
    chunks: AsyncIterator[bytes] | None = None


def rejected(exc: Rejected) -> InvalidArgument:
    return InvalidArgument({"file": exc.message}, reason=exc.reason)


async def receive(chunks: AsyncIterator[bytes], dest: Path, *, declared_size: int = 0) -> Received:
    """Stream an upload to `dest`, judging its type from the first bytes and stopping at its limit.

    Never holds more than one chunk (and the sniffing head) in memory; an upload over its
    limit is refused as soon as the limit is crossed, without reading the rest.
    """
    guard = UploadGuard(declared_size)
    handle: BinaryIO = await asyncio.to_thread(dest.open, "wb")
    try:
        async for chunk in chunks:
            if chunk:
                guard.feed(chunk)
                await asyncio.to_thread(handle.write, chunk)
    finally:
        # Closed inline, not in a thread: a rejection must reach the client at once (see upload()).
        handle.close()
    return Received(dest, guard.size, guard.finish())


class MediaDomain:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ids: Snowflake,
        storage: MediaStorage,
        tmp_dir: Path | None = None,
        ffprobe: str = "ffprobe",
        probe_timeout: float = 30.0,
        block_set: Callable[[int], Awaitable[frozenset[int]]] | None = None,
        decode_budget: DecodeBudget | None = None,
    ) -> None:
        self.engine = engine
        self.decode_budget = decode_budget or DecodeBudget(capacity_bytes=1024 * 2**20, wait=10.0)
        self.block_set = block_set
        self.ids = ids
        self.storage = storage
        self.tmp_dir = tmp_dir
        self.ffprobe = ffprobe_command(ffprobe)
        self.probe_timeout = probe_timeout
        self._cleanups: set[asyncio.Task[None]] = set()
        if tmp_dir is not None:
            tmp_dir.mkdir(parents=True, exist_ok=True)

    # Upload -----------------------------------------------------------------------

    async def upload(self, *, owner_id: int, meta: UploadMeta, chunks: AsyncIterator[bytes]) -> MediaRow:
        request_id = meta.request_id.strip() or None
        if request_id is not None:
            if len(request_id) > MAX_REQUEST_ID:
                raise InvalidArgument("request_id", message=f"request_id must be at most {MAX_REQUEST_ID} characters")
            # A retry of an upload that already succeeded: answer at once, read nothing.
            async with self.engine.connect() as db:
                earlier = await store.media_by_request(db, owner_id=owner_id, request_id=request_id)
            if earlier is not None:
                return earlier
        if meta.declared_size < 0:
            raise InvalidArgument("declared_size", message="declared_size cannot be negative")
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="koo-upload-", dir=self.tmp_dir))
        try:
            try:
                received = await receive(chunks, work / "upload", declared_size=meta.declared_size)
                if received.sniffed.kind is Kind.IMAGE:
                    return await self._store_image(owner_id, request_id, received, work)
                return await self._store_av(owner_id, request_id, received)
            except Rejected as exc:
                raise rejected(exc) from None
        finally:
            # In the background: the answer must not wait on disk cleanup. An aio client
            # that is still writing when a rejection arrives late sees INTERNAL instead of
            # the real status (grpc/grpc#36066), so the status leaves as soon as possible.
            self._discard(work)

    async def _store_image(self, owner_id: int, request_id: str | None, received: Received, work: Path) -> MediaRow:
        width, height, frames = await asyncio.to_thread(images.image_size, received.path, received.sniffed)
        # Animations are decoded a frame at a time but kept whole: count every frame.
        async with self.decode_budget.reserve(decode_cost(width, height, frames)):
            clean = await asyncio.to_thread(images.clean_image, received.path, received.sniffed, work)
        media_id = self.ids.next_id()
        key = f"{media_id}/original.{received.sniffed.ext}"
        thumb_key = f"{media_id}/thumbnail.jpg"
        await self.storage.put_file(key, clean.path, content_type=clean.content_type)
        await self.storage.put_file(thumb_key, clean.thumbnail_path, content_type=images.THUMBNAIL_CONTENT_TYPE)
        new = NewMedia(
            id=media_id,
            owner_id=owner_id,
            request_id=request_id,
            kind=Kind.IMAGE,
            status=Status.READY,
            content_type=clean.content_type,
            size_bytes=clean.path.stat().st_size,
            width=clean.width,
            height=clean.height,
            storage_key=key,
            thumbnail_key=thumb_key,
            thumbnail_size_bytes=clean.thumbnail_path.stat().st_size,
        )
        async with self.engine.begin() as db:
            row = await store.insert_media(db, media=new)
        if row is None:
            return await self._lost_race(owner_id, request_id, [key, thumb_key])
        return row

    async def _store_av(self, owner_id: int, request_id: str | None, received: Received) -> MediaRow:
        sniffed = received.sniffed
        try:
            probe = await av.probe(
                received.path, demuxer=sniffed.demuxer, ffprobe=self.ffprobe, max_runtime=self.probe_timeout
            )
        except av.AvError as exc:
            log.info("ffprobe refused an upload: %s %s", exc, exc.stderr[-300:])
            raise unsupported_type(f"not a readable {sniffed.content_type} file") from None
        kind = _kind_of(probe, sniffed)
        if kind is Kind.AUDIO and received.size > AUDIO_MAX_BYTES:
            raise too_large(Kind.AUDIO)
        # Unknown duration (live-recorded WebM) is measured by the worker after transcoding.
        if probe.duration_ms is not None and probe.duration_ms > MAX_DURATION_MS:
            raise too_long(probe.duration_ms)
        media_id = self.ids.next_id()
        source_key = f"{media_id}/source.{sniffed.ext}"
        await self.storage.put_file(source_key, received.path, content_type=sniffed.content_type)
        new = NewMedia(
            id=media_id,
            owner_id=owner_id,
            request_id=request_id,
            kind=kind,
            status=Status.PROCESSING,
            content_type="video/mp4" if kind is Kind.VIDEO else "audio/mp4",
            duration_ms=probe.duration_ms or 0,
            source_key=source_key,
            source_content_type=sniffed.content_type,
            source_demuxer=sniffed.demuxer,
        )
        async with self.engine.begin() as db:
            row = await store.insert_media(db, media=new)
            if row is not None:
                # Same transaction as the row: the worker hears of every item, and only of real ones.
                uploaded = events_pb.MediaUploaded(media_id=media_id, owner_id=owner_id, kind=KIND_PROTO[kind])
                await add_event(db, schema=store.SCHEMA, event=uploaded)
        if row is None:
            return await self._lost_race(owner_id, request_id, [source_key])
        return row

    async def _lost_race(self, owner_id: int, request_id: str | None, keys: list[str]) -> MediaRow:
        # Two uploads with one request_id ran at once and the other committed first: its
        # media is the answer, our copy of the bytes is garbage.
        for key in keys:
            await self.storage.delete(key)
        assert request_id is not None
        async with self.engine.connect() as db:
            row = await store.media_by_request(db, owner_id=owner_id, request_id=request_id)
        assert row is not None
        return row

    def _discard(self, work: Path) -> None:
        task = asyncio.create_task(asyncio.to_thread(shutil.rmtree, work, True))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    # Reads ------------------------------------------------------------------------

    # Who may see a media item: its owner; anyone else only once a live post holds it, and
    # not across a block. `viewer_id` None is a service hydrating posts it already decided
    # to show (the post service), which sees everything it asks for.

    async def get(self, *, media_id: int, viewer_id: int | None) -> MediaRow:
        if media_id <= 0:
            raise InvalidArgument("media_id", message="media_id must be a media item's id")
        async with self.engine.connect() as db:
            found = await store.media_by_ids(db, media_ids=[media_id])
        if not await self._readable(list(found.values()), viewer_id):
            raise NotFound(f"no media has the id {media_id}", reason=ErrorReason.MEDIA_NOT_FOUND)
        return found[media_id]

    async def batch_get(self, *, media_ids: list[int], viewer_id: int | None) -> list[MediaRow]:
        if len(media_ids) > MAX_BATCH:
            raise InvalidArgument("media_ids", message=f"at most {MAX_BATCH} media_ids per call")
        async with self.engine.connect() as db:
            found = await store.media_by_ids(db, media_ids=list(dict.fromkeys(media_ids)))
        readable = {r.id for r in await self._readable(list(found.values()), viewer_id)}
        return [found[i] for i in dict.fromkeys(media_ids) if i in readable]

    async def _readable(self, rows: list[MediaRow], viewer_id: int | None) -> list[MediaRow]:
        if viewer_id is None:
            return rows
        others = [r for r in rows if r.owner_id != viewer_id and r.post_ids]
        blocked: frozenset[int] = frozenset()
        if others and self.block_set is not None:
            blocked = await self.block_set(viewer_id)
        return [r for r in rows if r.owner_id == viewer_id or (r.post_ids and r.owner_id not in blocked)]

    async def content(self, *, media_id: int, rendition: str, viewer_id: int | None) -> Content:
        rendition = rendition or "original"
        if rendition not in RENDITIONS:
            raise InvalidArgument("rendition", message=f"rendition must be one of {', '.join(RENDITIONS)}")
        row = await self.get(media_id=media_id, viewer_id=viewer_id)
        if row.status is not Status.READY:
            raise FailedPrecondition(f"media {media_id} is {row.status}, not ready", reason=ErrorReason.MEDIA_NOT_READY)
        if rendition == "thumbnail":
            if not row.thumbnail_key:
                raise NotFound(f"media {media_id} has no thumbnail", reason=ErrorReason.RENDITION_NOT_FOUND)
            key, content_type, size = row.thumbnail_key, images.THUMBNAIL_CONTENT_TYPE, row.thumbnail_size_bytes
        else:
            key, content_type, size = row.storage_key, row.content_type, row.size_bytes
        url = await self.storage.signed_url(key)
        if url:
            return Content(content_type=content_type, size=size, redirect_url=url)
        try:
            blob = await self.storage.open(key)
        except FileNotFoundError:
            log.error("media %s: %s is missing from storage", media_id, key)
            raise NotFound(
                f"the bytes of media {media_id} are missing", reason=ErrorReason.MEDIA_CONTENT_MISSING
            ) from None
        return Content(content_type=content_type, size=blob.size, chunks=blob.chunks)


def _kind_of(probe: av.Probe, sniffed: Sniffed) -> Kind:
    """Video when there are moving pictures, audio when there is only sound."""
    if probe.has_video and sniffed.kind is not Kind.AUDIO:
        if probe.video_codec not in av.VIDEO_CODECS:
            raise unsupported_type(f"video codec {probe.video_codec}")
        if probe.has_audio and probe.audio_codec not in av.AUDIO_CODECS:
            raise unsupported_type(f"audio codec {probe.audio_codec}")
        return Kind.VIDEO
    if probe.has_audio:
        if probe.audio_codec not in av.AUDIO_CODECS:
            raise unsupported_type(f"audio codec {probe.audio_codec}")
        return Kind.AUDIO
    raise unsupported_type("no audio or video stream")
