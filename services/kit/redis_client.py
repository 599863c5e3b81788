"""Redis through redis-py asyncio, on a bounded pool that waits briefly for a connection.

redis-py's default pool raises `MaxConnectionsError` the moment its connections are all
busy, which under a burst turned into 500s and a rate limiter failing open. This pool
instead waits up to `pool_timeout` seconds for a free connection; past that the caller gets
a ConnectionError, which services answer as UNAVAILABLE (services.kit.transient).

(redis-py's own BlockingConnectionPool waits on a condition whose lock, in the version
pinned here, could leave a cancelled command hanging, and with it a process's shutdown;
this one waits with plain sleeps, which cancel cleanly.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError

# Connections per process: enough for the concurrency one process admits (the gateway's
# admission limit, a service's in-flight calls plus its consumers), far below what one
# Redis serves (10,000 clients by default) even with every process of a deployment.
DEFAULT_POOL_SIZE = 64  # KOO_REDIS_POOL_SIZE
DEFAULT_POOL_TIMEOUT = 2.0  # KOO_REDIS_POOL_TIMEOUT


class WaitingConnectionPool(ConnectionPool):
    """A ConnectionPool that waits up to `timeout` seconds when all its connections are busy."""

    def __init__(self, *, timeout: float = DEFAULT_POOL_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        pause = 0.001
        while True:
            try:
                return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
            except MaxConnectionsError:
                if loop.time() >= deadline:
                    raise RedisConnectionError(
                        f"no Redis connection free within {self.timeout:g}s ({self.max_connections} in use)"
                    ) from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.02)


def create_redis(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout: float = DEFAULT_POOL_TIMEOUT) -> Redis:
    """A pooled client; `unix://` URLs (the embedded Redis) work too."""
    pool = WaitingConnectionPool.from_url(
        url,
        max_connections=pool_size,
        timeout=pool_timeout,
        decode_responses=False,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
        retry_on_timeout=True,
    )
    return Redis.from_pool(pool)
