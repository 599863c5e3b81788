"""Redis through redis-py asyncio, on a bounded pool that waits briefly for a connection.

redis-py's default pool raises `MaxConnectionsError` the moment its connections are all
busy, which under a burst turned into 500s and a rate limiter failing open. A blocking
pool instead waits up to `pool_timeout` seconds for a free connection; past that the
caller gets a ConnectionError, which services answer as UNAVAILABLE (services.kit.transient).
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# Connections per process: enough for the concurrency one process admits (the gateway's
# admission limit, a service's in-flight calls plus its consumers), far below what one
# Redis serves (10,000 clients by default) even with every process of a deployment.
DEFAULT_POOL_SIZE = 64  # KOO_REDIS_POOL_SIZE
DEFAULT_POOL_TIMEOUT = 2.0  # KOO_REDIS_POOL_TIMEOUT


def create_redis(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout: float = DEFAULT_POOL_TIMEOUT) -> Redis:
    """A pooled client; `unix://` URLs (the embedded Redis) work too."""
    pool = BlockingConnectionPool.from_url(
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
