"""Admission control: beyond capacity, refuse quickly instead of queueing without bound.

At most `limit` API calls run at once; up to `queue` more wait, each at most `wait`
seconds, in arrival order; the rest, and any that wait too long, are shed with 503 and
`Retry-After`. Without this, every request was accepted and queued behind the others,
so under overload they all waited until the deadline (504) and goodput collapsed; with it,
admitted requests keep their normal latency and the refusals cost almost nothing.

It applies to every unary API call alike (not per route). Media transfers (streams that
may last minutes) and the operational endpoints are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

import grpc

from gateway.errors import GatewayError
from services.kit.errors import ErrorReason

RETRY_AFTER_SECONDS = 1


def overloaded() -> GatewayError:
    return GatewayError.simple(
        grpc.StatusCode.UNAVAILABLE,
        "the service is overloaded; try again shortly",
        reason=ErrorReason.OVERLOADED,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class Admission:
    def __init__(self, *, limit: int, queue: int, wait: float) -> None:
        self.limit = limit
        self.queue = queue
        self.wait = wait
        self.running = 0
        self.shed = 0  # refused since start (for metrics and tests)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the `limit` slots for the duration of the block, or raise 503."""
        if not self.enabled:
            yield
            return
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self.running < self.limit and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self.queue:
            self.shed += 1
            raise overloaded()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.wait)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just as we gave up: pass it on.
                self._release()
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.shed += 1
            raise overloaded() from None

    def _release(self) -> None:
        # Hand the slot straight to the oldest live waiter (running stays the same).
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1
