"""Signed-out sessions, until their access tokens expire: a small denylist in Redis.

Access tokens are stateless JWTs (15 minutes); signing out, or a refresh token's reuse
ending the sign-in, revokes the session's refresh family at once, and puts the session
id here for as long as an access token of it can live. The gateway, the one door for
user traffic, refuses tokens of a listed session (TOKEN_REVOKED), one EXISTS per request
(naming both keys; a second look says which, only when one is listed).
Redis trouble lets tokens through (logged): they expire on their own soon after.

A suspended account is listed the same way, by user id, for as long as it is suspended
(services/user/trust_safety.py): the same request-time check refuses all its sessions'
tokens (ACCOUNT_SUSPENDED), and an open notification stream ends at its next event.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("koo.revocation")

_PREFIX = "koo:revoked-session:"
_ACCOUNT_PREFIX = "koo:revoked-account:"


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

    # Suspended accounts: every session of the account, for as long as the suspension lasts.

    async def revoke_account(self, user_id: int, *, seconds: int | None) -> None:
        """Refuse every token of the account (a suspension; None: until restored)."""
        await self._redis.set(f"{_ACCOUNT_PREFIX}{user_id}", "1", ex=max(1, seconds) if seconds else None)

    async def restore_account(self, user_id: int) -> None:
        await self._redis.delete(f"{_ACCOUNT_PREFIX}{user_id}")

    async def refusal(self, session_id: str, user_id: int) -> str | None:
        """Why a token must be refused (`ACCOUNT_SUSPENDED`, `TOKEN_REVOKED`), or None; one
        round trip for a token that may pass (every request), two for one that may not."""
        account = f"{_ACCOUNT_PREFIX}{user_id}"
        try:
            if not await self._redis.exists(account, f"{_PREFIX}{session_id}"):
                return None
            suspended = await self._redis.exists(account)
        except RedisError as exc:
            log.warning("revocation list unavailable, accepting the token: %s", exc)
            return None
        return "ACCOUNT_SUSPENDED" if suspended else "TOKEN_REVOKED"
