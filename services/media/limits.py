"""The upload limits of the public contract (docs/api.md, Media) and the error every check raises.

Kept in one place so the messages a client sees name the same numbers the contract does.
"""

from __future__ import annotations

from enum import StrEnum

from koo.media.v1 import media_service_pb2 as media_pb
from services.kit.errors import ErrorReason

MB = 1024 * 1024

IMAGE_MAX_BYTES = 10 * MB
VIDEO_MAX_BYTES = 100 * MB
# The contract caps audio by length only; 20 MB is ample for 60 s of any accepted codec
# (60 s of 48 kHz 16-bit stereo WAV is 11 MB) and stops a slow drip of junk early.
AUDIO_MAX_BYTES = 20 * MB
ANY_MAX_BYTES = max(IMAGE_MAX_BYTES, VIDEO_MAX_BYTES, AUDIO_MAX_BYTES)
MAX_DURATION_MS = 60_000

# Decoded-size guards against decompression bombs: a 10 MB PNG can claim 100k x 100k pixels.
IMAGE_MAX_PIXELS = 50_000_000
# Animated images keep every frame in memory while re-encoding.
ANIMATION_MAX_PIXELS = 100_000_000
ANIMATION_MAX_FRAMES = 1000

MAX_REQUEST_ID = 128


class Kind(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


KIND_PROTO = {
    Kind.IMAGE: media_pb.MEDIA_KIND_IMAGE,
    Kind.AUDIO: media_pb.MEDIA_KIND_AUDIO,
    Kind.VIDEO: media_pb.MEDIA_KIND_VIDEO,
}


class Status(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Rejected(Exception):
    """The upload breaks a rule; `message` is shown to the client under the field `file`."""

    def __init__(self, message: str, *, reason: ErrorReason.ValueType) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


SUPPORTED_TYPES = "JPEG, PNG, WebP or GIF images; MP3, AAC/M4A, Ogg/Opus or WAV audio; MP4 or WebM video"


def unsupported_type(detail: str = "") -> Rejected:
    suffix = f" ({detail})" if detail else ""
    return Rejected(
        f"unsupported file type{suffix}: the bytes must be {SUPPORTED_TYPES}", reason=ErrorReason.MEDIA_TYPE_UNSUPPORTED
    )


def max_bytes(kind: Kind | None) -> int:
    """The size limit for a kind; None (a container that may hold audio or video) gets the video limit."""
    if kind is Kind.IMAGE:
        return IMAGE_MAX_BYTES
    if kind is Kind.AUDIO:
        return AUDIO_MAX_BYTES
    return VIDEO_MAX_BYTES


def too_large(kind: Kind | None) -> Rejected:
    label = {Kind.IMAGE: "images", Kind.AUDIO: "audio files", Kind.VIDEO: "videos", None: "videos"}[kind]
    return Rejected(f"{label} must be at most {max_bytes(kind) // MB} MB", reason=ErrorReason.MEDIA_TOO_LARGE)


def too_long(duration_ms: int) -> Rejected:
    return Rejected(
        f"audio and video must be at most {MAX_DURATION_MS // 1000} s long; this one is {duration_ms / 1000:.1f} s",
        reason=ErrorReason.MEDIA_TOO_LONG,
    )
