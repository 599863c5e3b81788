"""Signed-out sessions, until their access tokens expire: a small denylist in Redis.

Access tokens are stateless JWTs (15 minutes); signing out, or a refresh token's reuse
ending the sign-in, revokes the session's refresh family at once, and puts the session
id here for as long as an access token of it can live. The gateway, the one door for
user traffic, refuses tokens of a listed session (TOKEN_REVOKED), one EXISTS per request.
Redis trouble lets tokens through (logged): they expire on their own soon after.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("koo.revocation")

_PREFIX = "koo:revoked-session:"


class SessionRevocations:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke(self, session_id: str, *, seconds: int) -> None:
        await self._redis.set(f"{_PREFIX}{session_id}", "1", ex=max(1, seconds))

    async def is_revoked(self, session_id: str) -> bool:
        try:
            return bool(await self._redis.exists(f"{_PREFIX}{session_id}"))
        except RedisError as exc:
            log.warning("revocation list unavailable, accepting the token: %s", exc)
            return False
