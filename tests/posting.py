"""Helpers for post and feed tests: publish, follow, read feeds, poll until true."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from redis.asyncio import Redis

from koo.feed.v1 import feed_service_pb2 as feed_pb
from koo.feed.v1 import feed_service_pb2_grpc as feed_grpc
from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.kit.migrations import upgrade_all
from services.kit.redis_client import create_redis
from tests.clients import Account
from tests.harness import Stack, start_stack

T = TypeVar("T")


def posts(stack: Stack) -> post_grpc.PostServiceStub:
    return post_grpc.PostServiceStub(stack.channel("post"))


def feeds(stack: Stack) -> feed_grpc.FeedServiceStub:
    return feed_grpc.FeedServiceStub(stack.channel("feed"))


def users(stack: Stack) -> user_grpc.UserServiceStub:
    return user_grpc.UserServiceStub(stack.channel("user"))


async def publish(stack: Stack, author: Account, text: str = "", **fields: Any) -> post_pb.Post:
    reply = await posts(stack).CreatePost(post_pb.CreatePostRequest(text=text, **fields), metadata=author.auth)
    return reply.post


async def follow(stack: Stack, follower: Account, followee: Account, languages: list[str] | None = None) -> None:
    await users(stack).FollowUser(
        user_pb.FollowUserRequest(user_id=followee.id, languages=languages or []), metadata=follower.auth
    )


async def home(stack: Stack, reader: Account, **fields: Any) -> feed_pb.GetHomeFeedResponse:
    return await feeds(stack).GetHomeFeed(feed_pb.GetHomeFeedRequest(**fields), metadata=reader.auth)


async def home_ids(stack: Stack, reader: Account, *, page_size: int = 100, **fields: Any) -> list[int]:
    return [p.id for p in (await home(stack, reader, page_size=page_size, **fields)).posts]


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, within: float = 15.0, interval: float = 0.05
) -> T:
    """Poll `probe` until `check` holds (events are asynchronous); the last value on timeout."""
    deadline = time.monotonic() + within
    value = await probe()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(interval)
        value = await probe()
    return value


def redis_db_url(url: str, db: int) -> str:
    """The same Redis server, another logical database (isolates a second stack's keys)."""
    if url.startswith("unix://"):
        head = url.split("?", 1)[0]
        return f"{head}?db={db}"
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{db}" + (f"?{query}" if query else "")


def _database_url(url: str, name: str) -> str:
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


@dataclass
class World:
    """A second stack with its own backends."""

    stack: Stack
    redis: Redis
    database_url: str
    redis_url: str


async def unused_redis_db(redis_url: str, *, preferred: int) -> int:
    """A logical Redis database holding no keys (other runs on the same server use some)."""
    probe = create_redis(redis_url)
    try:
        keyspace = await probe.info("keyspace")
        databases = int((await probe.config_get("databases")).get("databases") or 16)
    finally:
        await probe.aclose()
    used = {int(name[2:]) for name in keyspace if str(name).startswith("db")}
    candidates = [preferred, *range(databases - 1, 0, -1)]
    return next((db for db in candidates if db not in used), preferred)


@asynccontextmanager
async def isolated_stack(
    *, database_url: str, redis_url: str, data_dir: Path, redis_db: int, overrides: dict[str, dict[str, Any]]
) -> AsyncIterator[World]:
    """A second, fully separate stack: its own PostgreSQL database (so its outbox relays do
    not take the main stack's events) and its own Redis database (so it may be flushed)."""
    name = f"koo_test_{uuid.uuid4().hex[:10]}"
    admin = _database_url(database_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _database_url(database_url, name)
    own_redis_url = redis_db_url(redis_url, await unused_redis_db(redis_url, preferred=redis_db))
    redis = create_redis(own_redis_url)
    stack: Stack | None = None
    try:
        await asyncio.to_thread(upgrade_all, url)
        await redis.flushdb()
        stack = await start_stack(database_url=url, redis_url=own_redis_url, data_dir=data_dir, overrides=overrides)
        yield World(stack, redis, url, own_redis_url)
    finally:
        if stack is not None:
            await stack.close()
        await redis.flushdb()
        await redis.aclose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
