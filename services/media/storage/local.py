"""Media on local disk under `KOO_DATA_DIR/media` (the default; `koo up` on one machine)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from services.media.storage import CHUNK_SIZE, Blob


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        # Files are written here first and renamed into place, so a reader never sees half
        # a file and a crash leaves no partial object under a real key.
        self._incoming = self.root / ".incoming"
        self._incoming.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not key or key.startswith("/") or not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"bad storage key {key!r}")
        return path

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        await asyncio.to_thread(self._put, self.path(key), path)

    def _put(self, dest: Path, src: Path) -> None:
        staging = self._incoming / uuid.uuid4().hex
        try:
            shutil.copyfile(src, staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, dest)
        finally:
            staging.unlink(missing_ok=True)

    async def fetch(self, key: str, dest: Path) -> None:
        await asyncio.to_thread(shutil.copyfile, self.path(key), dest)

    async def open(self, key: str) -> Blob:
        path = self.path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        size = os.fstat(handle.fileno()).st_size
        return Blob(size=size, chunks=_read_chunks(handle))

    async def signed_url(self, key: str) -> str | None:
        return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def close(self) -> None:
        return None


async def _read_chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
            yield chunk
    finally:
        handle.close()
