"""64-bit Snowflake ids: time-ordered, so timelines can be sorted sets scored by id.

Layout: 1 unused sign bit | 41 bits ms since KOO_EPOCH_MS | 10 bits worker | 12 bits sequence.
"""

from __future__ import annotations

import threading
import time

from redis.asyncio import Redis

KOO_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class Snowflake:
    """Thread-safe generator for one worker id."""

    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER:
            raise ValueError(f"worker_id must be within 0..{MAX_WORKER}")
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = _now_ms()
            if now < self._last_ms:
                # The clock stepped back: keep issuing from the last instant rather than
                # risk a duplicate.
                now = self._last_ms
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    while now <= self._last_ms:
                        now = _now_ms()
            else:
                self._sequence = 0
            self._last_ms = now
            return (
                ((now - KOO_EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS))
                | (self.worker_id << SEQUENCE_BITS)
                | self._sequence
            )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def id_to_unix_ms(snowflake_id: int) -> int:
    """When an id was issued."""
    return (snowflake_id >> (WORKER_BITS + SEQUENCE_BITS)) + KOO_EPOCH_MS


def min_id_at(unix_ms: int) -> int:
    """The smallest id issued at or after `unix_ms` (for time-window queries on ids)."""
    return max(0, unix_ms - KOO_EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS)


async def lease_worker_id(redis: Redis) -> int:
    """A worker id unique among live processes: a Redis counter modulo 1024."""
    value = await redis.incr("koo:snowflake:worker-seq")
    return int(value) % (MAX_WORKER + 1)
