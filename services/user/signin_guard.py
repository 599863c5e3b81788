"""Sign-in throttling, per account (as the database resolves the handle), in Redis.

Every attempt is counted *before* the password is checked, in one atomic script, so
concurrent guesses cannot all slip under the budget; a success takes its own attempt back.

The budgets hurt the guesser, not the owner:
- per account and client IP (`KOO_RATE_LOGIN_FAILURES`, 10/15m): that IP is refused for
  that account, any other IP is not;
- per account across IPs (`KOO_RATE_LOGIN_FAILURES_ACCOUNT`, 100/15m), against guessing
  spread over many IPs: refused, except from IPs this account signed in from before (30
  days), so the owner still gets in from home while a botnet is stopped.
Refusals are 429 with Retry-After. Redis trouble lets attempts through (logged): the
hashing gate still bounds their rate.
"""

from __future__ import annotations

import hashlib
import logging
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.kit.errors import ErrorReason, ResourceExhausted
from services.kit.rates import Rate

log = logging.getLogger("koo.user.signin")

KNOWN_IP_DAYS = 30
_PREFIX = "koo:signin:"

# KEYS: per-ip counter, per-account counter, known-ip set. ARGV: ip limit, ip window ms,
# account limit, account window ms, ip digest. Returns ms to wait (0: go ahead).
_RESERVE = """
local ip = redis.call('INCR', KEYS[1])
if ip == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local acct = redis.call('INCR', KEYS[2])
if acct == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
if tonumber(ARGV[1]) > 0 and ip > tonumber(ARGV[1]) then
  return math.max(redis.call('PTTL', KEYS[1]), 1)
end
if tonumber(ARGV[3]) > 0 and acct > tonumber(ARGV[3]) and redis.call('SISMEMBER', KEYS[3], ARGV[5]) == 0 then
  return math.max(redis.call('PTTL', KEYS[2]), 1)
end
return 0
"""
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
"""


def _digest(ip: str) -> str:
    return hashlib.sha256(ip.encode("utf-8", "replace")).hexdigest()[:24]


class SignInGuard:
    def __init__(self, redis: Redis, *, per_ip: Rate, per_account: Rate) -> None:
        self._redis = redis
        self._per_ip = per_ip
        self._per_account = per_account
        self._reserve = redis.register_script(_RESERVE)
        self._succeeded = redis.register_script(_SUCCEEDED)

    def _keys(self, user_id: int, ip: str) -> list[str]:
        return [f"{_PREFIX}ip:{user_id}:{_digest(ip)}", f"{_PREFIX}acct:{user_id}", f"{_PREFIX}known:{user_id}"]

    async def attempt(self, user_id: int, ip: str) -> None:
        """Count an attempt; RESOURCE_EXHAUSTED (429) when this IP or the account is over budget."""
        if not (self._per_ip.enabled or self._per_account.enabled):
            return
        args: list[str | int] = [
            self._per_ip.limit,
            self._per_ip.window * 1000,
            self._per_account.limit,
            self._per_account.window * 1000,
            _digest(ip),
        ]
        try:
            wait_ms = int(await self._reserve(keys=self._keys(user_id, ip), args=args))
        except RedisError as exc:
            log.warning("sign-in throttle unavailable, letting the attempt through: %s", exc)
            return
        if wait_ms > 0:
            seconds = max(1, math.ceil(wait_ms / 1000))
            raise ResourceExhausted(
                f"too many failed sign-ins: try again in {seconds} s",
                reason=ErrorReason.RATE_LIMITED,
                retry_after=seconds,
            )

    async def succeeded(self, user_id: int, ip: str) -> None:
        try:
            await self._succeeded(keys=self._keys(user_id, ip), args=[_digest(ip), KNOWN_IP_DAYS * 86400])
        except RedisError as exc:
            log.warning("could not record a sign-in: %s", exc)
