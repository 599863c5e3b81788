"""Where media bytes live: one interface, two backends (local disk, S3).

Keys are chosen by the service (`<media id>/<rendition>.<ext>`), never by clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from services.media.settings import MediaSettings

CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class Blob:
    """An open stored object: its size and its bytes in chunks."""

    size: int
    chunks: AsyncIterator[bytes]


class MediaStorage(Protocol):
    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        """Store a local file under `key` (replacing any object there)."""

    async def fetch(self, key: str, dest: Path) -> None:
        """Copy the object at `key` to the local file `dest`."""

    async def open(self, key: str) -> Blob:
        """The object's bytes, streamed; FileNotFoundError when there is none."""

    async def signed_url(self, key: str) -> str | None:
        """A time-limited URL that serves the object directly, or None when the store cannot sign."""

    async def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""

    async def close(self) -> None:
        """Release clients and pools."""


def build_storage(settings: MediaSettings) -> MediaStorage:
    """The backend `KOO_MEDIA_STORAGE` names."""
    if settings.media_storage == "s3":
        from services.media.storage.s3 import S3Storage

        return S3Storage(
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url,
            kms_key_id=settings.s3_kms_key_id,
            url_ttl=settings.s3_url_ttl,
            multipart_threshold=settings.s3_multipart_threshold,
            multipart_chunksize=settings.s3_multipart_chunksize,
        )
    from services.media.storage.local import LocalStorage

    return LocalStorage(settings.media_root)
