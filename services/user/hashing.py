"""Admission control for password hashing: argon2id is the most expensive thing Koo does
(64 MiB, ~0.1 s of a core each), so at most `concurrency` hashes run at once, at most
`queue` more wait, each for at most `wait` seconds. Beyond that the call is shed at once
with UNAVAILABLE and a Retry-After, long before the caller's deadline: a burst of failed
sign-ins slows sign-ins down to the machine's rate, never to a timeout for everybody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from services.kit.errors import ErrorReason, Unavailable

T = TypeVar("T")


class HashGate:
    def __init__(self, *, concurrency: int, queue: int, wait: float) -> None:
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._capacity = max(1, concurrency) + max(0, queue)
        self._admitted = 0
        self._wait = wait

    def _busy(self) -> Unavailable:
        return Unavailable(
            "sign-in is busy right now; try again in a moment",
            reason=ErrorReason.SIGN_IN_BUSY,
            retry_after=max(1.0, self._wait),
        )

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a worker thread once a slot is free, or UNAVAILABLE when too busy."""
        if self._admitted >= self._capacity:
            raise self._busy()
        self._admitted += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), self._wait)
            except TimeoutError:
                raise self._busy() from None
            try:
                return await asyncio.to_thread(fn, *args)
            finally:
                self._slots.release()
        finally:
            self._admitted -= 1
