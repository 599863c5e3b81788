"""Trending hashtags: hourly Redis sorted sets per language, summed over a sliding window.

A post counts in the hour it was written (from its Snowflake id), so a redelivered or
late event lands in the same bucket; each event applies once (a marker set in the same
Lua call as the increments, keyed by post id), and a deleted post is taken back out of its hour.

Tags are counted by `hashtag_key` (the rule search uses too: case and zero-width joiners
do not make another tag), and shown in the form first written in that hour.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from services.feed.keys import FeedKeys
from services.kit.ids import id_to_unix_ms
from services.kit.text import hashtag_key

HOUR_MS = 3_600_000
ALL = "all"
# How long an applied-event marker is kept: redelivery happens within minutes (reclaim)
# or seconds (relay retry), never days later.
APPLIED_TTL_SECONDS = 2 * 86_400

# KEYS[1] applied marker, KEYS[2] the hour's forms, KEYS[3..] buckets;
# ARGV marker ttl, bucket ttl, delta, then (tag key, form written) pairs.
_APPLY_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for k = 3, #KEYS do
  for i = 4, #ARGV, 2 do redis.call('ZINCRBY', KEYS[k], ARGV[3], ARGV[i]) end
  redis.call('EXPIRE', KEYS[k], ARGV[2])
end
for i = 4, #ARGV, 2 do redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


def hour_of(post_id: int) -> int:
    return id_to_unix_ms(post_id) // HOUR_MS


class Trends:
    def __init__(self, redis: Redis, *, keys: FeedKeys, window_hours: int, cache_seconds: float) -> None:
        self.redis = redis
        self.keys = keys
        self.window_hours = window_hours
        self.cache_seconds = cache_seconds
        self._apply_once = redis.register_script(_APPLY_ONCE)

    async def count(self, *, post_id: int, language: str, hashtags: Sequence[str], delta: int) -> bool:
        """Add (+1) or take back (-1) a post's hashtags in its hour; False if already applied."""
        if not hashtags:
            return False
        hour = hour_of(post_id)
        # One created and one deleted event per post: the post id names the effect (outbox
        # ids are per database, Snowflakes are not).
        effect = "trend+" if delta > 0 else "trend-"
        keys = [
            self.keys.applied(str(post_id), effect),
            self.keys.trend_forms(hour),
            self.keys.trend_bucket(ALL, hour),
        ]
        if language:
            keys.append(self.keys.trend_bucket(language, hour))
        # Buckets outlive the window by an hour so the oldest hour is still there to sum.
        bucket_ttl = (self.window_hours + 1) * 3600
        forms: dict[str, str] = {}
        for tag in hashtags:
            forms.setdefault(hashtag_key(tag), tag.lstrip("#"))
        args: list[str | int] = [APPLIED_TTL_SECONDS, bucket_ttl, delta]
        for key, form in forms.items():
            args += [key, form]
        return bool(await self._apply_once(keys=keys, args=args))

    async def top(self, *, language: str, limit: int, now_ms: int | None = None) -> list[tuple[str, int]]:
        """The most used hashtags of the window, most used first."""
        hour = (now_ms if now_ms is not None else int(time.time() * 1000)) // HOUR_MS
        lang = language or ALL
        ranking = self.keys.trend_ranking(lang, hour, self.window_hours)
        if not (self.cache_seconds > 0 and await self.redis.exists(ranking)):
            buckets = [self.keys.trend_bucket(lang, h) for h in range(hour - self.window_hours + 1, hour + 1)]
            pipe = self.redis.pipeline(transaction=True)
            pipe.zunionstore(ranking, buckets, aggregate="SUM")
            pipe.pexpire(ranking, max(1, int(self.cache_seconds * 1000)))
            await pipe.execute()
        rows = await self.redis.zrevrangebyscore(ranking, "+inf", "(0", start=0, num=limit, withscores=True)
        counted: list[tuple[str, int]] = []
        for tag, score in rows:  # type: ignore[misc,str-unpack]
            counted.append((_text(tag), int(score)))
        return await self._forms(counted, hours=range(hour, hour - self.window_hours, -1))

    async def _forms(self, counted: list[tuple[str, int]], *, hours: range) -> list[tuple[str, int]]:
        """Each counted key as it was written (newest hour first); the key if none is left."""
        if not counted:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for h in hours:
            pipe.hmget(self.keys.trend_forms(h), [key for key, _ in counted])
        found: dict[str, str] = {}
        for forms in await pipe.execute():
            for (key, _), form in zip(counted, forms, strict=True):
                if form is not None:
                    found.setdefault(key, _text(form))
        return [(found.get(key, key), n) for key, n in counted]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
