"""Helpers for post and feed tests: publish, follow, read feeds, poll until true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from koo.feed.v1 import feed_service_pb2 as feed_pb
from koo.feed.v1 import feed_service_pb2_grpc as feed_grpc
from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from tests.clients import Account
from tests.harness import Stack

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
