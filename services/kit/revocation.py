"""Signed-out sessions and suspended accounts, until their access tokens expire: a small
denylist in Redis, mirrored in each gateway's memory.

Access tokens are stateless JWTs (15 minutes); signing out, or a refresh token's reuse
ending the sign-in, revokes the session's refresh family at once, and puts the session id
here for as long as an access token of it can live. A suspended account is listed the same
way, by user id, for as long as it is suspended (services/user/trust_safety.py). The
gateway, the one door for user traffic, refuses tokens of a listed session
(TOKEN_REVOKED) or account (ACCOUNT_SUSPENDED), and an open notification stream ends at
its next event.

Every change is written and announced on a channel in one transaction. A gateway keeps a
mirror (`RevocationMirror`): it subscribes, then loads the list, then applies what the
channel says, so a request is checked in memory with no round trip (that EXISTS was a
tenth of the gateway's time per home read). Whenever the subscription is (re)made the
list is loaded again, so nothing said while it was down is missed. While the mirror is
not in step, each request asks Redis, as before; if Redis does not answer either, the
mirror's last copy decides (a token revoked before the outage stays refused), and only a
gateway that never loaded it lets tokens through (logged): they expire on their own soon
after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("koo.revocation")

_PREFIX = "koo:revoked-session:"
_ACCOUNT_PREFIX = "koo:revoked-account:"
CHANNEL = "koo:revocations"
_PURGE_EVERY = 60.0  # seconds between sweeps of expired entries out of a mirror
_RETRY_MAX = 5.0  # seconds at most between attempts to subscribe again


class RevocationMirror:
    """The denylist in memory, kept in step by the channel (see the module's text)."""

    def __init__(self) -> None:
        self.sessions: dict[str, float] = {}  # session id -> expiry (monotonic clock)
        self.accounts: dict[int, float] = {}  # user id -> expiry (inf: until restored)
        self._in_step = False  # subscribed and loaded: the mirror is the list
        self.loaded = False  # loaded at least once (a copy to fall back on)
        self._pubsub: PubSub | None = None
        self.first_load = asyncio.Event()  # set once the list has been loaded

    @property
    def in_step(self) -> bool:
        """Loaded, subscribed, and the subscription's connection up (a connection that
        dropped may miss announcements until it is made again and the list reloaded)."""
        if not self._in_step or self._pubsub is None:
            return False
        connection = self._pubsub.connection
        return connection is not None and connection.is_connected

    def refusal(self, session_id: str, user_id: int) -> str | None:
        now = time.monotonic()
        if self.accounts.get(user_id, 0.0) > now:
            return "ACCOUNT_SUSPENDED"
        if self.sessions.get(session_id, 0.0) > now:
            return "TOKEN_REVOKED"
        return None

    def apply(self, message: bytes) -> None:
        """One announcement: `s <session> <seconds>`, `a <user> <seconds, 0: no end>`, `r <user>`."""
        kind, _, rest = message.decode("ascii", "replace").partition(" ")
        key, _, seconds = rest.partition(" ")
        try:
            if kind == "s":
                self.sessions[key] = time.monotonic() + float(seconds)
            elif kind == "a":
                self.accounts[int(key)] = time.monotonic() + float(seconds) if float(seconds) > 0 else math.inf
            elif kind == "r":
                self.accounts.pop(int(key), None)
            else:
                log.warning("unknown revocation announcement %r", message[:100])
        except ValueError:
            log.warning("malformed revocation announcement %r", message[:100])

    def purge(self) -> None:
        now = time.monotonic()
        for table in (self.sessions, self.accounts):
            for key in [k for k, expiry in table.items() if expiry <= now]:
                del table[key]  # type: ignore[arg-type]

    async def load(self, redis: Redis) -> None:
        """Replace the mirror's content with the list as Redis holds it now."""
        sessions: dict[str, float] = {}
        accounts: dict[int, float] = {}
        for prefix in (_PREFIX, _ACCOUNT_PREFIX):
            keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                pipe = redis.pipeline(transaction=False)
                for key in chunk:
                    pipe.pttl(key)
                now = time.monotonic()
                for key, pttl in zip(chunk, await pipe.execute(), strict=True):
                    if pttl == -2:
                        continue  # expired meanwhile
                    expiry = math.inf if pttl == -1 else now + pttl / 1000
                    name = key.decode() if isinstance(key, bytes) else str(key)
                    if prefix == _PREFIX:
                        sessions[name[len(_PREFIX) :]] = expiry
                    else:
                        accounts[int(name[len(_ACCOUNT_PREFIX) :])] = expiry
        self.sessions, self.accounts = sessions, accounts
        self.loaded = True

    async def run(self, redis: Redis) -> None:
        """Keep the mirror in step until cancelled: subscribe, load, apply; again after any failure."""
        pause = 0.1
        last_purge = time.monotonic()
        while True:
            pubsub = self._pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "subscribe":
                        # (Re)subscribed, perhaps by redis-py after a reconnect: what was
                        # announced while unsubscribed is only in the list. Load it again.
                        self._in_step = False
                        await self.load(redis)
                        self._in_step = True
                        self.first_load.set()
                        pause = 0.1
                        log.info(
                            "revocation mirror in step: %d sessions, %d accounts",
                            len(self.sessions),
                            len(self.accounts),
                        )
                    elif message is not None and message["type"] == "message":
                        self.apply(message["data"])
                    if time.monotonic() - last_purge >= _PURGE_EVERY:
                        self.purge()
                        last_purge = time.monotonic()
            except (RedisError, OSError) as exc:
                if self._in_step:
                    log.warning("revocation mirror out of step (each request asks Redis meanwhile): %s", exc)
                self._in_step = False
            except Exception:  # a bug here must not end the mirror for good: start over
                log.exception("revocation mirror failed (each request asks Redis meanwhile)")
                self._in_step = False
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY_MAX)


class SessionRevocations:
    def __init__(self, redis: Redis, *, mirror: RevocationMirror | None = None) -> None:
        self._redis = redis
        self.mirror = mirror

    async def _list(self, key: str, announcement: str, *, seconds: int | None) -> None:
        """Put `key` on the list (for `seconds`; None: until taken off) and say so, atomically."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(key, "1", ex=seconds)
        pipe.publish(CHANNEL, announcement)
        await pipe.execute()

    async def revoke(self, session_id: str, *, seconds: int) -> None:
        seconds = max(1, seconds)
        await self._list(f"{_PREFIX}{session_id}", f"s {session_id} {seconds}", seconds=seconds)

    # Suspended accounts: every session of the account, for as long as the suspension lasts.

    async def revoke_account(self, user_id: int, *, seconds: int | None) -> None:
        """Refuse every token of the account (a suspension; None: until restored)."""
        ttl = max(1, seconds) if seconds else None
        await self._list(f"{_ACCOUNT_PREFIX}{user_id}", f"a {user_id} {ttl or 0}", seconds=ttl)

    async def restore_account(self, user_id: int) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(f"{_ACCOUNT_PREFIX}{user_id}")
        pipe.publish(CHANNEL, f"r {user_id}")
        await pipe.execute()

    async def refusal(self, session_id: str, user_id: int) -> str | None:
        """Why a token must be refused (`ACCOUNT_SUSPENDED`, `TOKEN_REVOKED`), or None: from
        the mirror when it is in step, else one round trip for a token that may pass, two
        for one that may not."""
        mirror = self.mirror
        if mirror is not None and mirror.in_step:
            return mirror.refusal(session_id, user_id)
        account = f"{_ACCOUNT_PREFIX}{user_id}"
        try:
            if not await self._redis.exists(account, f"{_PREFIX}{session_id}"):
                return None
            suspended = await self._redis.exists(account)
        except RedisError as exc:
            if mirror is not None and mirror.loaded:
                log.warning("revocation list unavailable, checking the last copy: %s", exc)
                return mirror.refusal(session_id, user_id)
            log.warning("revocation list unavailable, accepting the token: %s", exc)
            return None
        return "ACCOUNT_SUSPENDED" if suspended else "TOKEN_REVOKED"
