"""Home timelines in Redis: sorted sets of post ids, scored by id, capped.

Layout of `koo:tl:home:<user_id>`:
- members are post ids as decimal strings, scores the same ids. Redis keeps a sorted set
  of integers under `zset-max-listpack-entries` as one listpack, about 20 bytes per entry
  (see docs/performance.md); the ids are above 2**53, so neighbouring ids may share a
  score, and Redis then orders them by member, which for equal-length decimals is the
  numeric order: reads stay in id order and paging filters on the exact id.
- one sentinel member `0` (score 0 while a rebuild runs, 1 once the timeline is whole)
  says the timeline is valid even when it holds no posts, so an empty timeline is not
  rebuilt on every read, and a lost or evicted one (FLUSHALL, LRU) is rebuilt from the
  source of truth. The sentinel lives inside the set so the two vanish together.
- the key's TTL is the activity window: reading the feed (or registering, or following
  someone) renews it; fanout writes only to timelines that exist, so inactive users
  cost nothing and are rebuilt when they return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from services.feed.keys import FeedKeys

SENTINEL = "0"
BUILDING = 0.0
READY = 1.0
_FIRST_POST_SCORE = 2  # anything scored below is the sentinel
# While a rebuild runs the timeline lives at most this long without being finished.
BUILD_TTL_SECONDS = 120

# Adds posts to a timeline only if it exists (active, or being rebuilt), then trims it to
# the cap, keeping the sentinel at rank 0. KEYS[1] timeline; ARGV cap, then score/member pairs.
_ADD_IF_ACTIVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -(tonumber(ARGV[1]) + 1))
return 1
"""


def _members(ids: Iterable[int]) -> list[str]:
    return [str(i) for i in ids]


class Timelines:
    def __init__(self, redis: Redis, *, keys: FeedKeys, cap: int, active_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.cap = cap
        self.active_seconds = active_seconds
        self._add_if_active = redis.register_script(_ADD_IF_ACTIVE)

    # Writes -----------------------------------------------------------------------------

    async def push(self, user_ids: Sequence[int], post_id: int) -> int:
        """Fan one post into the timelines of `user_ids` that are active: one pipeline."""
        if not user_ids:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        args: list[int | str] = [self.cap, post_id, str(post_id)]
        for user_id in user_ids:
            await self._add_if_active(keys=[self.keys.home(user_id)], args=args, client=pipe)
        return sum(int(x) for x in await pipe.execute())

    async def add(self, user_id: int, post_ids: Sequence[int]) -> bool:
        """Add several posts to one timeline if it is active (backfill after a follow)."""
        if not post_ids:
            return False
        args: list[int | str] = [self.cap]
        for post_id in post_ids:
            args += [post_id, str(post_id)]
        return bool(await self._add_if_active(keys=[self.keys.home(user_id)], args=args))

    async def remove(self, user_ids: Sequence[int], post_ids: Sequence[int]) -> None:
        """Take posts out of many timelines: one pipeline (missing members are no-ops)."""
        if not user_ids or not post_ids:
            return
        members = _members(post_ids)
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zrem(self.keys.home(user_id), *members)
        await pipe.execute()

    async def start_empty(self, user_id: int) -> None:
        """A new user's timeline: valid and empty, active for the window."""
        key = self.keys.home(user_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(key, {SENTINEL: READY}, nx=True)
        pipe.expire(key, self.active_seconds)
        await pipe.execute()

    async def begin_rebuild(self, user_id: int) -> None:
        """Mark the timeline as being built: fanout writes into it from now on."""
        key = self.keys.home(user_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(key, {SENTINEL: BUILDING}, nx=True)
        pipe.expire(key, BUILD_TTL_SECONDS)
        await pipe.execute()

    async def finish_rebuild(self, user_id: int, post_ids: Sequence[int]) -> None:
        """Merge the rebuilt posts (fanout may have added newer ones meanwhile) and mark it whole."""
        key = self.keys.home(user_id)
        pipe = self.redis.pipeline(transaction=True)
        if post_ids:
            pipe.zadd(key, {str(p): p for p in post_ids})
        pipe.zadd(key, {SENTINEL: READY})
        pipe.zremrangebyrank(key, 1, -(self.cap + 1))
        pipe.expire(key, self.active_seconds)
        await pipe.execute()

    # Reads ------------------------------------------------------------------------------

    async def state(self, user_id: int, *, touch: bool = False) -> float | None:
        """READY, BUILDING, or None (missing: never built, expired, evicted or flushed).

        With `touch`, a ready timeline's activity window starts again (the user is reading).
        """
        key = self.keys.home(user_id)
        if not touch:
            score = await self.redis.zscore(key, SENTINEL)
            return None if score is None else float(score)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zscore(key, SENTINEL)
        pipe.expire(key, self.active_seconds)
        score, _ = await pipe.execute()
        return None if score is None else float(score)

    async def active(self, user_id: int) -> bool:
        return bool(await self.redis.exists(self.keys.home(user_id)))

    async def below(self, user_id: int, before: int | None, count: int) -> list[int]:
        """Up to `count` post ids strictly below `before` (all when None), newest first."""
        key = self.keys.home(user_id)
        top: float | str = "+inf" if before is None else float(before)
        found: list[int] = []
        offset = 0
        chunk = count + 16
        while len(found) < count:
            # Scores are rounded ids: ask inclusively and filter on the exact id.
            members = await self.redis.zrevrangebyscore(key, top, _FIRST_POST_SCORE, start=offset, num=chunk)
            for raw in members:
                post_id = int(raw)  # type: ignore[arg-type]
                if before is None or post_id < before:
                    found.append(post_id)
                    if len(found) == count:
                        break
            if len(members) < chunk:
                break
            offset += chunk
        return found

    async def size(self, user_id: int) -> int:
        """Posts in the timeline (the sentinel not counted)."""
        return int(await self.redis.zcount(self.keys.home(user_id), _FIRST_POST_SCORE, "+inf"))

    async def drop(self, user_id: int, post_ids: Sequence[int]) -> None:
        if post_ids:
            await self.redis.zrem(self.keys.home(user_id), *_members(post_ids))
