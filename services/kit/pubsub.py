"""A Redis pub/sub subscription, and background loops that stop at once when cancelled.

redis-py's asyncio PubSub can swallow a cancellation that arrives while it subscribes or
waits for a message (its read timeout and the cancellation race), leaving the task
"cancelling" forever and a server's shutdown waiting on it. So a loop that listens runs
`detached`: in a task of its own that the caller awaits through `asyncio.shield`, so that
cancelling the caller ends it at once while the inner task is cancelled without being
waited for. Reads and closing are bounded the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from redis.asyncio import Redis

CLOSE_WAIT_SECONDS = 1.0


async def detached(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` as its own task; cancelling the caller cancels it without waiting for it."""
    inner = asyncio.ensure_future(coro)
    try:
        await asyncio.shield(inner)
    except asyncio.CancelledError:
        inner.cancel()
        raise


class Subscription:
    def __init__(self, redis: Redis, channel: str) -> None:
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._channel = channel
        self._reader: asyncio.Future[Any] | None = None

    async def __aenter__(self) -> Subscription:
        await self._pubsub.subscribe(self._channel)
        return self

    async def next(self, *, timeout: float | None) -> Any:  # noqa: ASYNC109 - redis-py's own read timeout
        """The next message's data; None when `timeout` passed first (None: wait as long as it takes)."""
        self._reader = asyncio.ensure_future(self._pubsub.get_message(timeout=timeout))
        try:
            message = await asyncio.shield(self._reader)
        except asyncio.CancelledError:
            self._reader.cancel()
            raise
        return message.get("data") if message else None

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        closing = asyncio.ensure_future(self._pubsub.aclose())  # type: ignore[no-untyped-call]
        await asyncio.wait({closing}, timeout=CLOSE_WAIT_SECONDS)
        if not closing.done():
            closing.cancel()
        elif not closing.cancelled():
            with contextlib.suppress(Exception):
                closing.result()
