"""Each author's own timeline in Redis: their newest top-level posts and re-koos.

`koo:tl:user:<author>` has the layout of a home timeline (timeline.py: post ids scored by
id, a sentinel member, capped). The feed worker adds and removes posts as the author
writes and deletes (only where the timeline exists); a missing one is rebuilt from
PostgreSQL (ListAuthorPosts) by the first reader. It serves the author's page
(`GET /v1/users/{id}/posts`) and the read-time merge of celebrities into home feeds; a
page below the cached posts is read from the post service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from services.feed.keys import FeedKeys
from services.feed.peers import FeedPeers
from services.feed.timeline import _FIRST_POST_SCORE, READY, SENTINEL, Timelines


@dataclass(frozen=True, slots=True)
class Slice:
    """An author's posts below a cursor, newest first, complete down to `floor` (0: all)."""

    ids: list[int]
    floor: int


class AuthorTimelines:
    def __init__(self, redis: Redis, *, keys: FeedKeys, peers: FeedPeers, cap: int, ttl_seconds: int) -> None:
        self.redis = redis
        self.peers = peers
        self.cap = cap
        self.store = Timelines(redis, keys=keys, cap=cap, active_seconds=ttl_seconds, kind="user")

    async def below(self, authors: Sequence[int], before: int | None, count: int) -> dict[int, Slice]:
        """Up to `count` posts of each author strictly below `before`: one round trip when cached."""
        if not authors:
            return {}
        chunk = count + 16  # equal scores (ids above 2**53) may hide a few members above `before`
        top: float | str = "+inf" if before is None else float(before)
        pipe = self.redis.pipeline(transaction=False)
        for author in authors:
            key = self.store.key(author)
            pipe.zscore(key, SENTINEL)
            pipe.zcard(key)
            pipe.zrevrangebyscore(key, top, _FIRST_POST_SCORE, start=0, num=chunk)
        replies = await pipe.execute()
        out: dict[int, Slice] = {}
        rebuild: list[int] = []
        deep: list[int] = []
        for i, author in enumerate(authors):
            state, size, members = replies[3 * i : 3 * i + 3]
            if state is None or float(state) != READY:
                rebuild.append(author)
                continue
            ids = [int(m) for m in members]
            ids = [p for p in ids if before is None or p < before][:count]
            if len(ids) == count:
                out[author] = Slice(ids, ids[-1])
            elif len(members) == chunk or int(size) - 1 >= self.cap:
                deep.append(author)  # the cached posts end above what is asked: the source has more
            else:
                out[author] = Slice(ids, 0)
        if rebuild or deep:
            found = await asyncio.gather(
                *(self._rebuild(a, before, count) for a in rebuild),
                *(self._from_source(a, before, count) for a in deep),
            )
            out.update(zip([*rebuild, *deep], found, strict=True))
        return out

    async def _from_source(self, author: int, before: int | None, count: int) -> Slice:
        refs = await self.peers.author_refs([author], before_id=before or 0, limit=count, exclude_replies=True)
        ids = [r.id for r in refs]
        return Slice(ids, ids[-1] if len(ids) == count else 0)

    async def _rebuild(self, author: int, before: int | None, count: int) -> Slice:
        await self.store.begin_rebuild(author)
        refs = await self.peers.author_refs([author], limit=self.cap, exclude_replies=True)
        ids = [r.id for r in refs]
        await self.store.finish_rebuild(author, ids)
        below = [p for p in ids if before is None or p < before]
        if len(below) >= count:
            return Slice(below[:count], below[count - 1])
        if len(ids) >= self.cap:
            return await self._from_source(author, before, count)
        return Slice(below, 0)
