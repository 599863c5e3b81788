"""The block rule, once for every service that shows or acts on posts.

A block hides both people from each other everywhere: a reader whose block set (users
they blocked or who blocked them, either way) holds a post's author, or the author of the
post it re-koos or quotes, or (for writes) of any post up its thread, must neither see it
nor act on it. Callers pass the ids they know; zeros (no original) are ignored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Set

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("koo.blocks")


def blocked_out(blocked: Set[int], author_ids: Iterable[int]) -> bool:
    """Whether any of `author_ids` is in the reader's block set (either direction)."""
    return any(a in blocked for a in author_ids if a)


def post_hidden(blocked: Set[int], *, author_id: int, repost_of_author_id: int = 0) -> bool:
    """Whether a reader with block set `blocked` must not see this post (or re-koo/quote)."""
    return blocked_out(blocked, (author_id, repost_of_author_id))


class BlockSets:
    """Users' block sets, kept in Redis so the block rule costs no call on a warm read.

    Filled on a miss from the user service (`fetch`), for at most `ttl` seconds; the user
    service drops both users' entries as soon as a block or unblock commits (`forget`), so
    a new block holds at once. Redis trouble falls back to `fetch`.
    """

    PREFIX = "koo:blockset:"

    def __init__(
        self, redis: Redis | None, fetch: Callable[[int], Awaitable[frozenset[int]]] | None, *, ttl: int = 300
    ) -> None:
        self._redis = redis
        self._fetch = fetch
        self._ttl = ttl

    async def get(self, user_id: int) -> frozenset[int]:
        assert self._fetch is not None, "a BlockSets that only forgets cannot read"
        if self._redis is None:
            return await self._fetch(user_id)
        key = f"{self.PREFIX}{user_id}"
        try:
            cached = await self._redis.get(key)
        except RedisError as exc:
            log.warning("block sets unavailable in Redis, asking the user service: %s", exc)
            return await self._fetch(user_id)
        if cached is not None:
            raw = cached.decode() if isinstance(cached, bytes) else str(cached)
            return frozenset(int(x) for x in raw.split(",") if x)
        found = await self._fetch(user_id)
        with contextlib.suppress(RedisError):
            await self._redis.set(key, ",".join(str(x) for x in sorted(found)), ex=self._ttl)
        return found

    async def forget(self, *user_ids: int) -> None:
        if self._redis is None or not user_ids:
            return
        try:
            await self._redis.delete(*(f"{self.PREFIX}{u}" for u in user_ids))
        except RedisError as exc:
            log.warning("could not drop cached block sets of %s: %s", user_ids, exc)
