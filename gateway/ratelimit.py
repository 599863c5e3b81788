"""Rate limits in Redis: fixed windows, several budgets checked in one round trip.

Each request counts against its client IP's budget and against one budget for what it
does: reads and writes per signed-in user, media uploads per user, sign-ups and sign-ins
per IP. Failed sign-ins per account are the user service's (services/user/signin_guard.py:
it resolves the handle to the account as the database does, and counts before checking
the password). Budgets are settings
(`KOO_RATE_*`, see docs/gateway.md); over budget is a 429 with `Retry-After`.

One Lua script does every check of a request atomically: INCR each counter, give a new one
its window as expiry, and answer how long until the fullest counter resets. The keys of
one call live on different hash slots, which is fine on the single-shard ElastiCache of
terraform/ (cluster mode off). Redis trouble lets requests through (logged): an outage of
the limiter must not become an outage of the API.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import grpc
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.errors import GatewayError
from gateway.routes import Route, Streaming
from gateway.settings import GatewaySettings, Rate
from koo.gateway.v1.gateway_options_pb2 import RATE_CLASS_REFRESH, RATE_CLASS_SIGN_IN, RATE_CLASS_SIGN_UP
from services.kit.context import Caller
from services.kit.errors import ErrorReason

log = logging.getLogger("koo.gateway")

_PREFIX = "koo:rl:"

# KEYS: counters. ARGV: per key (limit, window in ms, mode); mode 1 counts this request,
# mode 0 only looks (the failed sign-in count, which grows on failures alone).
# Returns the milliseconds until the fullest counter over its limit resets; 0 = allowed.
_CHECK = """
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local count
  if ARGV[3 * i] == '1' then
    count = redis.call('INCR', key)
    if count == 1 then redis.call('PEXPIRE', key, window) end
  else
    count = tonumber(redis.call('GET', key) or '0')
  end
  local over = count > limit
  if ARGV[3 * i] == '0' then over = count >= limit end
  if over then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = window end
    if ttl > wait then wait = ttl end
  end
end
return wait
"""


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    rate: Rate
    counts: bool = True


class RateLimiter:
    def __init__(self, redis: Redis | None, settings: GatewaySettings) -> None:
        self.enabled = settings.rate_limits_enabled and redis is not None
        self._redis = redis
        self._rates = {name: settings.rate(name) for name in ("ip", "read", "write", "media", "signup", "login")}
        self._check = redis.register_script(_CHECK) if redis is not None else None

    def checks_for(self, route: Route, *, ip: str, caller: Caller | None) -> list[Check]:
        rates = self._rates
        checks = [Check(f"{_PREFIX}ip:{ip}", rates["ip"])]
        if route.rate_class == RATE_CLASS_SIGN_UP:
            checks.append(Check(f"{_PREFIX}signup:{ip}", rates["signup"]))
        elif route.rate_class in (RATE_CLASS_SIGN_IN, RATE_CLASS_REFRESH):
            checks.append(Check(f"{_PREFIX}login:{ip}", rates["login"]))
        elif caller is not None:
            if route.streaming is Streaming.UPLOAD:
                kind = "media"
            elif route.http_method == "GET":
                kind = "read"
            else:
                kind = "write"
            checks.append(Check(f"{_PREFIX}{kind}:{caller.user_id}", rates[kind]))
        return [c for c in checks if c.rate.enabled]

    async def check(self, route: Route, *, ip: str, caller: Caller | None) -> None:
        """Count the request; GatewayError(429) with Retry-After when over a budget."""
        if not self.enabled or self._check is None:
            return
        checks = self.checks_for(route, ip=ip, caller=caller)
        if not checks:
            return
        args: list[str | int] = []
        for item in checks:
            args += [item.rate.limit, item.rate.window * 1000, "1" if item.counts else "0"]
        try:
            wait_ms = int(await self._check(keys=[c.key for c in checks], args=args))
        except RedisError as exc:
            log.warning("rate limiter unavailable, letting the request through: %s", exc)
            return
        if wait_ms > 0:
            retry_after = max(1, math.ceil(wait_ms / 1000))
            raise GatewayError.simple(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"too many requests: try again in {retry_after} s",
                reason=ErrorReason.RATE_LIMITED,
                headers={"Retry-After": str(retry_after)},
            )
