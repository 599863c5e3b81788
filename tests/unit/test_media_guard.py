"""Streaming checks shared by the media service and the gateway: type, limits, truncation."""

from __future__ import annotations

import pytest

from services.kit.errors import ErrorReason
from services.media.guard import UploadGuard
from services.media.limits import IMAGE_MAX_BYTES, MB, Rejected
from services.media.sniff import JPEG, PNG, WEBM
from tests.media_files import jpeg_with_gps, png_bytes


def test_small_file_is_judged_at_the_end() -> None:
    guard = UploadGuard()
    data = png_bytes()
    guard.feed(data[:10])
    guard.feed(data[10:])
    assert guard.finish() == PNG and guard.size == len(data)


def test_type_is_refused_after_the_first_4_kb_without_waiting_for_the_end() -> None:
    guard = UploadGuard()
    with pytest.raises(Rejected) as info:
        guard.feed(b"plain text " * 500)
    assert info.value.reason == ErrorReason.MEDIA_TYPE_UNSUPPORTED and "unsupported file type" in info.value.message


def test_limit_depends_on_the_kind_judged() -> None:
    image = UploadGuard()
    image.feed(jpeg_with_gps() + bytes(8192))
    with pytest.raises(Rejected) as info:
        image.feed(bytes(IMAGE_MAX_BYTES))
    assert info.value.message == "images must be at most 10 MB"

    video = UploadGuard()
    video.feed(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + bytes(5000))
    video.feed(bytes(50 * MB))  # fine for a video
    assert video.finish() == WEBM


def test_declared_size_fails_early() -> None:
    with pytest.raises(Rejected, match="videos must be at most 100 MB"):
        UploadGuard(declared_size=101 * MB)
    guard = UploadGuard(declared_size=11 * MB)
    with pytest.raises(Rejected, match="images must be at most 10 MB"):
        guard.feed(jpeg_with_gps() + bytes(8192))


def test_empty_and_truncated_uploads_are_refused() -> None:
    with pytest.raises(Rejected) as info:
        UploadGuard().finish()
    assert info.value.reason == ErrorReason.MEDIA_EMPTY
    data = jpeg_with_gps()
    guard = UploadGuard(declared_size=len(data) + 100)
    guard.feed(data)
    with pytest.raises(Rejected) as info:
        guard.finish()
    assert info.value.reason == ErrorReason.MEDIA_TRUNCATED
    exact = UploadGuard(declared_size=len(data))
    exact.feed(data)
    assert exact.finish() == JPEG
