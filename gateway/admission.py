"""Admission control: beyond capacity, refuse quickly instead of queueing without bound.

At most `limit` API calls run at once; up to `queue` more wait, each at most `wait`
seconds, in arrival order; the rest, and any that wait too long, are shed with 503 and
`Retry-After`. Without this, every request was accepted and queued behind the others,
so under overload they all waited until the deadline (504) and goodput collapsed; with it,
admitted requests keep their normal latency and the refusals cost almost nothing.

It applies to every unary API call alike (not per route). Media transfers (streams that
may last minutes) and the operational endpoints are not counted.

A refusal must cost far less than an answer, or under overload the refusals eat the
capacity they protect (at 5 x capacity, four refusals for every answer). So a call that
would be refused at once (`full()`: no slot and the queue full) is answered by the HTTP
protocol itself before any ASGI work (gateway/http_server.py), and refusals are counted
and logged as one summary line every few seconds, not a line each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator

import grpc

from gateway.errors import GatewayError
from services.kit.errors import ErrorReason

log = logging.getLogger("koo.gateway")

RETRY_AFTER_SECONDS = 1
# At most one log line per this many seconds while shedding.
SUMMARY_EVERY = 10.0


_OVERLOADED = GatewayError.simple(
    grpc.StatusCode.UNAVAILABLE, "the service is overloaded; try again shortly", reason=ErrorReason.OVERLOADED
).status


def overloaded() -> GatewayError:
    # A new exception each time (a raised one keeps its traceback), the status made once.
    return GatewayError(
        _OVERLOADED,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        quiet=True,  # counted and summarised by Admission.refused
    )


class _Expired(Exception):
    """A queued call's wait ran out."""


class Admission:
    def __init__(self, *, limit: int, queue: int, wait: float) -> None:
        self.limit = limit
        self.queue = queue
        self.wait = wait
        self.running = 0
        self.shed = 0  # refused since start (for metrics and tests)
        self.expired = 0  # of which, refused after waiting their whole `wait` in the queue
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._summary_shed = 0
        self._summary_at = time.monotonic()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def full(self) -> bool:
        """Whether a call arriving now would be refused at once (what `_acquire` decides
        before waiting): every slot taken or promised, and the queue full."""
        if not self.enabled:
            return False
        if self.running < self.limit and not self._waiters:
            return False
        return len(self._waiters) >= self.queue

    def refused(self) -> None:
        """Count one refusal; say how many were shed, once every SUMMARY_EVERY seconds."""
        self.shed += 1
        now = time.monotonic()
        if now - self._summary_at >= SUMMARY_EVERY:
            log.warning(
                "overloaded: shed %d calls in the last %.0f s (%d after waiting in the queue since start;"
                " %d running, %d queued)",
                self.shed - self._summary_shed,
                now - self._summary_at,
                self.expired,
                self.running,
                len(self._waiters),
            )
            self._summary_shed, self._summary_at = self.shed, now

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
            self.refused()
            raise overloaded()
        # A future and a timer, not wait_for(shield(...)): the queue is busiest exactly
        # when the gateway has no CPU to spare.
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.wait, self._expire, waiter)
        try:
            await waiter
        except _Expired:
            self.expired += 1
            self.refused()
            raise overloaded() from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release()  # handed a slot just as the caller went away: pass it on
            else:
                self._forget(waiter)
            raise
        finally:
            timer.cancel()

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(_Expired())
            self._forget(waiter)

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _release(self) -> None:
        # Hand the slot straight to the oldest live waiter (running stays the same).
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1
