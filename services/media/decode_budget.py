"""A memory budget for decoding images: what one process may hold in decoded pixels at once.

A compressed image says little about its decoded size: 190 KB of PNG can be 7000x7000 RGBA
(196 MB of pixels, several times that while it is rotated, converted and thumbnailed).
Before decoding, the header's size gives a cost (width x height x 4 bytes x the pipeline's
copies); a decode waits until the budget has room for it, at most `wait` seconds (then
503 + Retry-After), and an image that could never fit alone is refused as too large.
So concurrent uploads queue instead of adding up past the pod's memory limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.kit.errors import ErrorReason, Unavailable
from services.media.limits import Rejected

BYTES_PER_PIXEL = 4  # decoded as RGBA at worst
PIPELINE_COPIES = 4  # decoded, upright/converted, resized original, thumbnail scratch


def decode_cost(width: int, height: int, frames: int = 1) -> int:
    """Bytes a decode of this size may hold at its peak."""
    return width * height * max(1, frames) * BYTES_PER_PIXEL * PIPELINE_COPIES


class DecodeBudget:
    def __init__(self, *, capacity_bytes: int, wait: float) -> None:
        self.capacity = capacity_bytes
        self.wait = wait
        self._used = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def reserve(self, cost: int) -> AsyncIterator[None]:
        if cost > self.capacity:
            raise Rejected(
                f"this image is too large to process ({cost // 2**20} MB decoded; the limit is "
                f"{self.capacity // 2**20} MB): send fewer pixels",
                reason=ErrorReason.MEDIA_TOO_LARGE,
            )
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._used + cost <= self.capacity), self.wait)
            except TimeoutError:
                raise Unavailable(
                    "the media service is busy processing images; try again shortly",
                    reason=ErrorReason.MEDIA_BUSY,
                    retry_after=max(1.0, self.wait),
                ) from None
            self._used += cost
        try:
            yield
        finally:
            async with self._changed:
                self._used -= cost
                self._changed.notify_all()
