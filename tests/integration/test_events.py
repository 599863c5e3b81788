"""Post events end to end: payloads, the outbox surviving a Redis outage, and a fanout
consumer killed mid-batch still giving an exactly-once effect."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from koo.feed.v1 import feed_service_pb2 as feed_pb
from koo.post.v1 import post_service_pb2 as post_pb
from services.feed.domain import Feed
from services.feed.fanout import Fanout
from services.feed.keys import FeedKeys
from services.feed.peers import FeedPeers
from services.feed.settings import FeedSettings
from services.kit.channels import Channels
from services.kit.db import create_engine
from services.kit.events import StreamConsumer, run_relay, stream_name
from services.kit.redis_client import create_redis
from tests.clients import new_account
from tests.harness import Stack
from tests.posting import eventually, feeds, follow, home, home_ids, isolated_stack, posts, publish

CREATED_FIELDS = {
    "post_id",
    "author_id",
    "text",
    "language",
    "hashtags",
    "mention_ids",
    "media_ids",
    "reply_to_id",
    "repost_of_id",
    "created_at_ms",
}
DELETED_FIELDS = {"post_id", "author_id", "language", "hashtags", "reply_to_id", "repost_of_id"}


async def events_about(redis: Redis, post_id: int) -> dict[str, dict[str, Any]]:
    """The post's events on the stream, by type (newest 2,000 entries searched)."""
    found: dict[str, dict[str, Any]] = {}
    for _mid, fields in await redis.xrevrange(stream_name("post"), count=2000):
        data = json.loads(fields[b"data"])
        if data.get("post_id") == post_id:
            found[fields[b"type"].decode()] = data
    return found


async def test_post_events_carry_the_documented_payloads(stack: Stack, redis: Redis) -> None:
    author = await new_account(stack.channel("user"))
    friend = await new_account(stack.channel("user"))
    parent = await publish(stack, friend, "मूल")
    reply = await publish(stack, author, f"नमस्ते @{friend.user.handle} #भारत", reply_to_id=parent.id)
    created = (await eventually(lambda: events_about(redis, reply.id), lambda e: "post.created" in e))["post.created"]
    assert set(created) == CREATED_FIELDS
    assert created["author_id"] == author.id and created["reply_to_id"] == parent.id
    assert created["hashtags"] == ["भारत"] and created["mention_ids"] == [friend.id]
    assert created["language"] == "hi" and created["repost_of_id"] == 0
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=reply.id), metadata=author.auth)
    deleted = (await eventually(lambda: events_about(redis, reply.id), lambda e: "post.deleted" in e))["post.deleted"]
    assert set(deleted) == DELETED_FIELDS and deleted["reply_to_id"] == parent.id


async def test_a_post_written_while_redis_is_down_is_delivered_when_it_returns(
    database_url: str, redis_url: str, data_dir: Path
) -> None:
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    overrides = {"post": {"redis_url": dead, "worker_id": 5}}
    async with isolated_stack(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, redis_db=10, overrides=overrides
    ) as world:
        stack = world.stack
        author = await new_account(stack.channel("user"))
        reader = await new_account(stack.channel("user"))
        await home(stack, reader)
        await follow(stack, reader, author)
        post = await publish(stack, author, "रेडिस के बिना #भरोसा")  # accepted: PostgreSQL is up
        engine = create_engine(world.database_url, pool_size=2)
        try:

            async def outbox() -> list[int]:
                async with engine.connect() as db:
                    rows = await db.execute(text("SELECT payload FROM koo_post.outbox"))
                    return [r.payload["post_id"] for r in rows]

            async def trend() -> int:
                reply = await feeds(stack).ListTrendingHashtags(feed_pb.ListTrendingHashtagsRequest(language="hi"))
                return next((h.post_count for h in reply.hashtags if h.tag == "भरोसा"), 0)

            await asyncio.sleep(0.5)  # the service's own relay keeps trying the dead Redis
            assert post.id in await outbox()
            assert "post.created" not in await events_about(world.redis, post.id)
            assert await trend() == 0
            # Redis is back: a relay pointed at the live server publishes what was kept.
            relay = asyncio.create_task(run_relay(engine, world.redis, schema="koo_post"))
            try:
                await eventually(outbox, lambda ids: post.id not in ids)
                await eventually(lambda: events_about(world.redis, post.id), lambda e: "post.created" in e)
                await eventually(trend, lambda n: n == 1)  # consumers saw it
                assert post.id in await home_ids(stack, reader)
            finally:
                relay.cancel()
                await asyncio.gather(relay, return_exceptions=True)
        finally:
            await engine.dispose()


async def test_a_consumer_killed_mid_batch_still_applies_each_post_once(
    stack: Stack, redis: Redis, redis_url: str
) -> None:
    # A fanout of our own on the live stream, under its own key prefix and consumer group,
    # so the stack's feed-worker (which handles the same events) cannot mask a mistake.
    keys = FeedKeys(f"kill{uuid.uuid4().hex[:8]}")
    group = f"kill-test-{uuid.uuid4().hex[:8]}"
    settings = FeedSettings(env="test", redis_url=redis_url)
    channels = Channels({"user": stack.addr("user"), "post": stack.addr("post")}, timeout=5.0)
    own_redis = create_redis(redis_url)
    feed = Feed(settings, redis=own_redis, peers=FeedPeers(channels, own_redis, keys=keys, graph_ttl=0), keys=keys)
    fanout = Fanout(feed, batch=2, follower_page=2)  # small pages: many steps to die between
    await redis.xgroup_create(stream_name("post"), group, id="$", mkstream=True)
    try:
        author = await new_account(stack.channel("user"))
        followers = [await new_account(stack.channel("user")) for _ in range(5)]
        for reader in [author, *followers]:
            await feed.timelines.start_empty(reader.id)
        for reader in followers:
            await follow(stack, reader, author)
        tag = f"एकबार{uuid.uuid4().hex[:6]}"
        made = [await publish(stack, author, f"गिनती {i} #{tag}") for i in range(6)]
        await eventually(
            lambda: asyncio.gather(*(events_about(redis, p.id) for p in made)),
            lambda found: all("post.created" in e for e in found),
        )

        # Consumer A dies after a few timeline writes, in the middle of its batch.
        writes = 0
        stuck = asyncio.Event()
        real_push = feed.timelines.push

        async def push_then_die(user_ids: list[int], post_id: int) -> int:
            nonlocal writes
            writes += 1
            if writes > 4:
                stuck.set()
                await asyncio.Event().wait()  # hangs until cancelled, like a killed pod
            return await real_push(user_ids, post_id)

        feed.timelines.push = push_then_die  # type: ignore[method-assign]
        first = StreamConsumer(own_redis, topic="post", group=group, handler=fanout.handle_post_events, name="a")
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(stuck.wait(), 15)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        feed.timelines.push = real_push  # type: ignore[method-assign]
        pending = await redis.xpending(stream_name("post"), group)
        assert pending["pending"] >= len(made)  # nothing acknowledged

        # Consumer B reclaims the stuck batch and finishes it.
        second = StreamConsumer(
            own_redis, topic="post", group=group, handler=fanout.handle_post_events, name="b", claim_idle_ms=50
        )

        async def drained() -> int:
            await second.step()
            return int((await redis.xpending(stream_name("post"), group))["pending"])

        await eventually(drained, lambda n: n == 0, interval=0.1)
        want = {p.id for p in made}
        for reader in [author, *followers]:
            stored = [int(m) for m in await redis.zrange(keys.home(reader.id), 0, -1) if m != b"0"]
            assert want <= set(stored) and len(stored) == len(set(stored))
        assert dict(await feed.trends.top(language="hi", limit=50)).get(tag) == len(made)
    finally:
        await redis.xgroup_destroy(stream_name("post"), group)
        leftovers = [k async for k in redis.scan_iter(match=f"{keys.prefix}:*")]
        if leftovers:
            await redis.delete(*leftovers)
        await channels.close()
        await own_redis.aclose()
