"""The media-worker's processing: failures recorded, leases, redelivery, lengths measured late."""

from __future__ import annotations

import asyncio
import random
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from koo.media.v1 import media_service_pb2 as pb
from services.kit.db import create_engine
from services.media import store
from services.media.binaries import ffmpeg_command
from services.media.limits import Kind, Status
from services.media.processing import MediaProcessor
from services.media.storage.local import LocalStorage
from services.media.store import MediaRow, NewMedia
from tests.harness import Stack
from tests.integration.test_media import account, upload, wait_until_settled
from tests.media_files import audio


@pytest_asyncio.fixture(loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=2)
    yield eng
    await eng.dispose()


async def processing_item(engine: AsyncEngine, storage: LocalStorage, source: Path) -> MediaRow:
    """A processing audio item inserted directly (no event, so the stack's worker leaves it alone)."""
    media_id = random.randrange(1 << 40, 1 << 60)
    key = f"{media_id}/source.ogg"
    await storage.put_file(key, source, content_type="audio/ogg")
    async with engine.begin() as db:
        row = await store.insert_media(
            db,
            media=NewMedia(
                id=media_id,
                owner_id=7,
                request_id=None,
                kind=Kind.AUDIO,
                status=Status.PROCESSING,
                content_type="audio/mp4",
                source_key=key,
                source_content_type="audio/ogg",
                source_demuxer="ogg",
            ),
        )
    assert row is not None
    return row


async def reload(engine: AsyncEngine, media_id: int) -> MediaRow:
    async with engine.connect() as db:
        return (await store.media_by_ids(db, media_ids=[media_id]))[media_id]


async def test_ready_once_and_a_redelivery_changes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    row = await processing_item(engine, storage, Path(await _ogg(tmp_path)))
    processor = MediaProcessor(engine, storage)
    await processor.process(row.id)
    done = await reload(engine, row.id)
    assert done.status is Status.READY and done.storage_key == f"{row.id}/audio.m4a"
    assert 900 <= done.duration_ms <= 1100 and done.size_bytes == storage.path(done.storage_key).stat().st_size
    assert not storage.path(row.source_key).exists()  # the upload as sent is not kept

    await processor.process(row.id)  # the same event again
    again = await reload(engine, row.id)
    assert again == done


async def test_undecodable_media_fails_with_a_reason(engine: AsyncEngine, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    row = await processing_item(engine, storage, Path(await _ogg(tmp_path)))
    await MediaProcessor(engine, storage, ffmpeg="false").process(row.id)
    failed = await reload(engine, row.id)
    assert failed.status is Status.FAILED and failed.failure_reason == "the audio could not be decoded"
    assert not storage.path(row.source_key).exists()


async def test_a_hung_ffmpeg_is_killed_and_the_item_fails(engine: AsyncEngine, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    row = await processing_item(engine, storage, Path(await _ogg(tmp_path)))
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    started = asyncio.get_running_loop().time()
    await MediaProcessor(engine, storage, ffmpeg=str(slow), timeout=0.5).process(row.id)
    assert asyncio.get_running_loop().time() - started < 10
    failed = await reload(engine, row.id)
    assert failed.status is Status.FAILED and failed.failure_reason == "the audio took too long to process"


async def test_one_worker_at_a_time_holds_an_item(engine: AsyncEngine, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    row = await processing_item(engine, storage, Path(await _ogg(tmp_path)))
    async with engine.begin() as db:
        assert await store.claim_for_processing(db, media_id=row.id, lease_seconds=60) is not None
        assert await store.claim_for_processing(db, media_id=row.id, lease_seconds=60) is None
    # Another worker that gets the event meanwhile leaves the item to the holder.
    await MediaProcessor(engine, storage).process(row.id)
    assert (await reload(engine, row.id)).status is Status.PROCESSING
    async with engine.begin() as db:
        await store.release_lease(db, media_id=row.id)
    await MediaProcessor(engine, storage).process(row.id)
    assert (await reload(engine, row.id)).status is Status.READY


async def test_storage_trouble_releases_the_item_for_a_retry(engine: AsyncEngine, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    row = await processing_item(engine, storage, Path(await _ogg(tmp_path)))
    storage.path(row.source_key).unlink()
    with pytest.raises(FileNotFoundError):
        await MediaProcessor(engine, storage).process(row.id)
    async with engine.begin() as db:
        # Still processing and not leased: the next delivery may try again at once.
        assert await store.claim_for_processing(db, media_id=row.id, lease_seconds=60) is not None


async def test_length_unknown_at_upload_is_measured_by_the_worker(stack: Stack, tmp_path: Path) -> None:
    # WebM written to a pipe (as browsers record) has no duration in its header.
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_command(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=62", "-c:a", "libopus", "-b:a", "16k",
        "-f", "webm", "pipe:1", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    data, _ = await proc.communicate()
    who = await account(stack)
    media = await upload(stack, who, data, content_type="audio/webm")
    assert media.kind == pb.MEDIA_KIND_AUDIO and media.status == pb.MEDIA_STATUS_PROCESSING
    assert media.duration_ms == 0
    media = await wait_until_settled(stack, who, media.id)
    assert media.status == pb.MEDIA_STATUS_FAILED
    assert "at most 60 s" in media.failure_reason


async def _ogg(tmp_path: Path) -> str:
    path = tmp_path / f"{random.randrange(1 << 30)}.ogg"
    await audio(path, seconds=1)
    return str(path)
