"""Redis through redis-py asyncio."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    """A pooled client; `unix://` URLs (the embedded Redis) work too."""
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
        retry_on_timeout=True,
    )
