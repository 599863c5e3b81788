"""Media service over real gRPC: uploads judged by their bytes, limits, cleaning, transcoding."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import grpc
import pytest
from PIL import Image

from koo.media.v1 import media_service_pb2 as pb
from koo.media.v1 import media_service_pb2_grpc as pb_grpc
from services.media import av
from services.media.limits import IMAGE_MAX_BYTES, MB
from tests.clients import Account, error_reason, field_violations, new_account
from tests.harness import Stack
from tests.media_files import (
    GPS_IFD,
    audio,
    exif_of,
    jpeg_with_gps,
    png_bytes,
    video_mp4,
    video_webm,
)

CHUNK = 256 * 1024


def stub(stack: Stack) -> pb_grpc.MediaServiceStub:
    return pb_grpc.MediaServiceStub(stack.channel("media"))


async def account(stack: Stack) -> Account:
    return await new_account(stack.channel("user"))


def requests(
    data: bytes | Iterable[bytes],
    *,
    content_type: str = "",
    filename: str = "",
    request_id: str = "",
    declared: int = 0,
) -> AsyncIterator[pb.UploadMediaRequest]:
    async def gen() -> AsyncIterator[pb.UploadMediaRequest]:
        yield pb.UploadMediaRequest(
            metadata=pb.UploadMetadata(
                content_type=content_type, filename=filename, request_id=request_id, declared_size=declared
            )
        )
        chunks = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK)) if isinstance(data, bytes) else data
        for chunk in chunks:
            yield pb.UploadMediaRequest(chunk=chunk)

    return gen()


async def upload(stack: Stack, who: Account, data: bytes | Iterable[bytes], **meta: str | int) -> pb.Media:
    response = await stub(stack).UploadMedia(requests(data, **meta), metadata=who.auth)  # type: ignore[arg-type]
    media: pb.Media = response.media
    return media


async def rejected(stack: Stack, who: Account, data: bytes | Iterable[bytes], **meta: str | int) -> str:
    """Uploads expecting INVALID_ARGUMENT; returns the `file` violation."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(stack, who, data, **meta)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    violations = field_violations(info.value)
    assert "file" in violations, violations
    return violations["file"]


async def content(stack: Stack, who: Account, media_id: int, rendition: str = "") -> tuple[str, bytes]:
    content_type, data = "", bytearray()
    request = pb.GetMediaContentRequest(media_id=media_id, rendition=rendition)
    async for part in stub(stack).GetMediaContent(request, metadata=who.auth):
        content_type = content_type or part.content_type
        assert not part.redirect_url
        data += part.data
    return content_type, bytes(data)


async def wait_until_settled(stack: Stack, who: Account, media_id: int, *, within: float = 90.0) -> pb.Media:
    deadline = time.monotonic() + within
    while True:
        media: pb.Media = (await stub(stack).GetMedia(pb.GetMediaRequest(media_id=media_id), metadata=who.auth)).media
        if media.status != pb.MEDIA_STATUS_PROCESSING:
            return media
        assert time.monotonic() < deadline, f"media {media_id} still processing after {within} s"
        await asyncio.sleep(0.05)


# Images ----------------------------------------------------------------------------


async def test_jpeg_is_ready_at_once_without_gps_or_any_exif(stack: Stack) -> None:
    who = await account(stack)
    original = jpeg_with_gps((640, 480))
    assert exif_of(original).get_ifd(GPS_IFD), "the fixture must carry GPS"
    media = await upload(stack, who, original, content_type="image/jpeg", filename="delhi.jpg")
    assert media.kind == pb.MEDIA_KIND_IMAGE and media.status == pb.MEDIA_STATUS_READY
    assert media.owner_id == who.id and media.content_type == "image/jpeg"
    assert (media.width, media.height) == (640, 480)
    assert media.url == f"/v1/media/{media.id}/content"
    assert media.thumbnail_url == f"/v1/media/{media.id}/content?rendition=thumbnail"

    content_type, stored = await content(stack, who, media.id)
    assert content_type == "image/jpeg" and len(stored) == media.size_bytes
    assert len(exif_of(stored)) == 0 and not exif_of(stored).get_ifd(GPS_IFD)
    assert b"KooCam" not in stored

    thumb_type, thumb = await content(stack, who, media.id, "thumbnail")
    with Image.open(io.BytesIO(thumb)) as img:
        assert thumb_type == "image/jpeg" and img.format == "JPEG" and max(img.size) == 320


async def test_exif_orientation_is_applied(stack: Stack) -> None:
    who = await account(stack)
    media = await upload(stack, who, jpeg_with_gps((200, 100), orientation=6))
    assert (media.width, media.height) == (100, 200)
    _, stored = await content(stack, who, media.id)
    with Image.open(io.BytesIO(stored)) as img:
        assert img.size == (100, 200) and 0x0112 not in img.getexif()
        top = img.getpixel((50, 5))
        assert isinstance(top, tuple) and top[0] > 200 and top[2] < 60  # the red half is on top


async def test_type_comes_from_the_bytes_not_the_name_or_header(stack: Stack) -> None:
    who = await account(stack)
    # A PNG that claims to be a video is an image...
    media = await upload(stack, who, png_bytes(), content_type="video/mp4", filename="clip.mp4")
    assert media.kind == pb.MEDIA_KIND_IMAGE and media.content_type == "image/png"
    assert media.status == pb.MEDIA_STATUS_READY
    # ...and text that claims to be a PNG is refused, naming the type.
    message = await rejected(
        stack, who, "नमस्ते, this is only text".encode() * 10, content_type="image/png", filename="photo.png"
    )
    assert "unsupported file type" in message and "JPEG" in message


async def test_empty_upload_is_refused(stack: Stack) -> None:
    who = await account(stack)
    assert "empty" in await rejected(stack, who, b"", content_type="image/png")
    assert "empty" in await rejected(stack, who, [b"", b""])


async def test_oversize_image_stops_at_the_limit(stack: Stack) -> None:
    who = await account(stack)
    sent = 0

    def endless_jpeg() -> Iterable[pb.UploadMediaRequest]:
        # A JPEG start followed by far more than the limit: the server must stop reading.
        nonlocal sent
        yield pb.UploadMediaRequest(metadata=pb.UploadMetadata(content_type="image/jpeg"))
        head = jpeg_with_gps()
        sent += len(head)
        yield pb.UploadMediaRequest(chunk=head)
        while sent < 200 * MB:
            sent += CHUNK
            yield pb.UploadMediaRequest(chunk=b"\x00" * CHUNK)

    # The blocking client, in a thread: when a server ends a client stream early, the
    # grpc.aio client can report INTERNAL instead of the server's status if a write was
    # pending (grpc/grpc#36066). The server's answer is the same either way.
    with grpc.insecure_channel(stack.addr("media")) as channel:
        sync_stub = pb_grpc.MediaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            await asyncio.to_thread(
                sync_stub.UploadMedia, endless_jpeg(), metadata=who.auth + stack.workload_metadata(), timeout=60
            )
    err: grpc.aio.AioRpcError = info.value  # type: ignore[assignment]
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err)["file"] == "images must be at most 10 MB"
    assert error_reason(err) == "MEDIA_TOO_LARGE"
    # Only flow-control buffers beyond the limit were ever sent.
    assert IMAGE_MAX_BYTES < sent < IMAGE_MAX_BYTES + 20 * MB


async def test_declared_size_over_the_limit_fails_before_the_bytes(stack: Stack) -> None:
    who = await account(stack)
    message = await rejected(stack, who, jpeg_with_gps(), declared=11 * MB)
    assert message == "images must be at most 10 MB"
    assert "100 MB" in await rejected(stack, who, jpeg_with_gps(), declared=101 * MB)


async def test_upload_needs_a_signed_in_caller_and_metadata_first(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).UploadMedia(requests(png_bytes()))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED

    who = await account(stack)

    async def chunk_first() -> AsyncIterator[pb.UploadMediaRequest]:
        yield pb.UploadMediaRequest(chunk=png_bytes())

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).UploadMedia(chunk_first(), metadata=who.auth)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata" in field_violations(info.value)


async def test_retry_with_the_same_request_id_returns_the_first_media(stack: Stack) -> None:
    who, other = await account(stack), await account(stack)
    key = str(uuid.uuid4())
    first = await upload(stack, who, png_bytes(), request_id=key)
    again = await upload(stack, who, png_bytes((10, 10)), request_id=key)
    assert again.id == first.id and (again.width, again.height) == (40, 30)
    # The key is the owner's own: someone else's upload with it is a new media item.
    theirs = await upload(stack, other, png_bytes(), request_id=key)
    assert theirs.id != first.id and theirs.owner_id == other.id


async def test_batch_get_keeps_order_and_leaves_out_unknown_ids(stack: Stack) -> None:
    who = await account(stack)
    a = await upload(stack, who, png_bytes())
    b = await upload(stack, who, jpeg_with_gps())
    found = (
        await stub(stack).BatchGetMedia(pb.BatchGetMediaRequest(media_ids=[b.id, 12345, a.id, b.id]), metadata=who.auth)
    ).media
    assert [m.id for m in found] == [b.id, a.id]
    assert all(m.owner_id == who.id and m.status == pb.MEDIA_STATUS_READY for m in found)

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).GetMedia(pb.GetMediaRequest(media_id=12345), metadata=who.auth)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND and error_reason(info.value) == "MEDIA_NOT_FOUND"


# Audio and video -------------------------------------------------------------------


async def test_three_second_video_is_transcoded_and_becomes_ready(stack: Stack, tmp_path: Path) -> None:
    who = await account(stack)
    data = await video_mp4(tmp_path / "in.mp4", seconds=3)
    started = time.perf_counter()
    media = await upload(stack, who, data, content_type="video/mp4")
    assert media.kind == pb.MEDIA_KIND_VIDEO and media.status == pb.MEDIA_STATUS_PROCESSING
    assert media.url == ""  # nothing to fetch yet
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await content(stack, who, media.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(info.value) == "MEDIA_NOT_READY"

    media = await wait_until_settled(stack, who, media.id)
    elapsed = time.perf_counter() - started
    print(f"\nmedia: 3 s video upload -> READY in {elapsed:.2f} s")
    assert media.status == pb.MEDIA_STATUS_READY, media.failure_reason
    assert media.content_type == "video/mp4" and 2900 <= media.duration_ms <= 3200
    assert (media.width, media.height) == (320, 240)
    assert media.url and media.thumbnail_url

    _, stored = await content(stack, who, media.id)
    assert len(stored) == media.size_bytes
    out = tmp_path / "out.mp4"
    out.write_bytes(stored)
    probe = await av.probe(out, demuxer="mov")
    assert (probe.video_codec, probe.audio_codec) == ("h264", "aac")
    # The recording place in the upload's metadata did not survive.
    assert b"loci" in data and b"earth\x00" in data
    assert b"loci" not in stored and b"earth\x00" not in stored
    # moov before mdat: playback starts before the whole file arrives.
    assert stored.find(b"moov") < stored.find(b"mdat")

    thumb_type, poster = await content(stack, who, media.id, "thumbnail")
    with Image.open(io.BytesIO(poster)) as img:
        assert thumb_type == "image/jpeg" and img.size == (320, 240)


async def test_webm_video_and_short_audio_are_transcoded(stack: Stack, tmp_path: Path) -> None:
    who = await account(stack)
    video = await upload(stack, who, await video_webm(tmp_path / "in.webm"), content_type="application/octet-stream")
    sound = await upload(stack, who, await audio(tmp_path / "in.ogg", seconds=2), filename="voice.ogg")
    mp3 = await upload(stack, who, await audio(tmp_path / "in.mp3", seconds=1, codec="libmp3lame", fmt="mp3"))
    assert video.kind == pb.MEDIA_KIND_VIDEO
    assert sound.kind == pb.MEDIA_KIND_AUDIO and mp3.kind == pb.MEDIA_KIND_AUDIO
    assert sound.status == pb.MEDIA_STATUS_PROCESSING and 1900 <= sound.duration_ms <= 2100

    video, sound, mp3 = [await wait_until_settled(stack, who, m.id) for m in (video, sound, mp3)]
    assert video.status == pb.MEDIA_STATUS_READY and video.content_type == "video/mp4", video.failure_reason
    assert sound.status == pb.MEDIA_STATUS_READY and sound.content_type == "audio/mp4", sound.failure_reason
    assert mp3.status == pb.MEDIA_STATUS_READY, mp3.failure_reason
    assert sound.thumbnail_url == "" and sound.width == 0
    out = tmp_path / "out.m4a"
    out.write_bytes((await content(stack, who, sound.id))[1])
    assert (await av.probe(out, demuxer="mov")).audio_codec == "aac"


async def test_audio_over_sixty_seconds_is_refused_at_upload(stack: Stack, tmp_path: Path) -> None:
    who = await account(stack)
    message = await rejected(stack, who, await audio(tmp_path / "long.ogg", seconds=70), content_type="audio/ogg")
    assert "60 s" in message and "70.0 s" in message


async def test_audio_signature_over_junk_is_refused(stack: Stack) -> None:
    who = await account(stack)
    message = await rejected(stack, who, b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40)
    assert "unsupported file type" in message


async def test_unknown_rendition_is_refused(stack: Stack) -> None:
    who = await account(stack)
    media = await upload(stack, who, png_bytes())
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await content(stack, who, media.id, "poster")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "rendition" in field_violations(info.value)
