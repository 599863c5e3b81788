"""Post events end to end: payloads, the outbox surviving a Redis outage, and a fanout
consumer killed mid-batch still giving an exactly-once effect."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from google.protobuf.message import Message
from redis.asyncio import Redis
from sqlalchemy import text

from koo.events.v1 import events_pb2 as events_pb
from koo.feed.v1 import feed_service_pb2 as feed_pb
from koo.media.v1 import media_service_pb2 as media_pb
from koo.post.v1 import post_service_pb2 as post_pb
from services.feed.domain import FeedDomain
from services.feed.fanout import Fanout
from services.feed.keys import FeedKeys
from services.feed.peers import FeedPeers
from services.feed.settings import FeedSettings
from services.kit.channels import Channels
from services.kit.db import create_engine
from services.kit.events import Event, StreamConsumer, decode_entry, prune_outbox, run_relay, stream_name
from services.kit.redis_client import create_redis
from tests.clients import new_account
from tests.harness import Stack
from tests.posting import eventually, feeds, follow, home, home_ids, isolated_stack, posts, publish


async def events_about(redis: Redis, post_id: int) -> dict[str, Message]:
    """The post's typed events on the stream, by type (newest 2,000 entries searched)."""
    found: dict[str, Message] = {}
    for mid, fields in await redis.xrevrange(stream_name("post"), count=2000):
        event = decode_entry(mid, fields)
        if getattr(event.payload, "post_id", None) == post_id:
            found[event.event_type] = event.payload
    return found


async def test_post_events_carry_typed_payloads(stack: Stack, redis: Redis) -> None:
    author = await new_account(stack.channel("user"))
    friend = await new_account(stack.channel("user"))
    parent = await publish(stack, friend, "मूल")
    reply = await publish(stack, author, f"नमस्ते @{friend.user.handle} #भारत", reply_to_id=parent.id)
    created = (await eventually(lambda: events_about(redis, reply.id), lambda e: "post.created" in e))["post.created"]
    assert isinstance(created, events_pb.PostCreated)
    assert created.author_id == author.id and created.reply_to_id == parent.id
    assert list(created.hashtags) == ["भारत"] and list(created.mention_ids) == [friend.id]
    assert created.language == "hi" and created.repost_of_id == 0 and created.text.startswith("नमस्ते")
    assert created.parent_author_id == friend.id
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=reply.id), metadata=author.auth)
    deleted = (await eventually(lambda: events_about(redis, reply.id), lambda e: "post.deleted" in e))["post.deleted"]
    assert isinstance(deleted, events_pb.PostDeleted)
    assert deleted.reply_to_id == parent.id and list(deleted.hashtags) == ["भारत"]


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

            async def outbox() -> list[int]:  # not yet published
                async with engine.connect() as db:
                    rows = await db.execute(text("SELECT envelope FROM koo_post.outbox WHERE published_at IS NULL"))
                    return [events_pb.Envelope.FromString(r.envelope).post_created.post_id for r in rows]

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
                # The fanout group is another consumer of the same event: it may come later.
                await eventually(lambda: home_ids(stack, reader), lambda ids: post.id in ids)
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
    channels = Channels({"user": stack.addr("user"), "post": stack.addr("post")}, timeout=5.0, identity=stack.identity)
    own_redis = create_redis(redis_url)
    feed = FeedDomain(
        settings, redis=own_redis, peers=FeedPeers(channels, own_redis, keys=keys, graph_ttl=0), keys=keys
    )
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
        real_fan_out = feed.timelines.fan_out

        async def fan_out_then_die(user_ids: list[int], post_id: int) -> int:
            nonlocal writes
            writes += 1
            if writes > 4:
                stuck.set()
                await asyncio.Event().wait()  # hangs until cancelled, like a killed pod
            return await real_fan_out(user_ids, post_id)

        feed.timelines.fan_out = fan_out_then_die  # type: ignore[method-assign]
        first = StreamConsumer(own_redis, topic="post", group=group, handler=fanout.handle_post_events, name="a")
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(stuck.wait(), 15)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        feed.timelines.fan_out = real_fan_out  # type: ignore[method-assign]
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


async def test_events_written_before_they_were_typed_still_reach_consumers(
    stack: Stack, redis: Redis, database_url: str
) -> None:
    """An outbox row with a JSON payload and a stream entry with JSON fields, as the
    services wrote them before events.proto, arrive as the typed messages."""
    topic = f"legacy-{uuid.uuid4().hex[:8]}"  # a stream of our own: the stack's consumers ignore it
    legacy_post = {
        "post_id": 11,
        "author_id": 7,
        "text": "पुराना",
        "language": "hi",
        "hashtags": ["पुराना"],
        "mention_ids": [],
        "media_ids": [],
        "reply_to_id": None,
        "repost_of_id": 0,
        "created_at_ms": 1,
    }
    legacy_media = {"media_id": 12, "owner_id": 7, "kind": "video"}
    seen: list[Event] = []

    async def collect(events: list[Event]) -> None:
        seen.extend(events)

    consumer = StreamConsumer(redis, topic=topic, group="legacy-test", handler=collect)
    await consumer.ensure_group()
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as db:
            await db.execute(
                text("INSERT INTO koo_post.outbox (topic, event_type, payload) VALUES (:t, 'post.created', :p)"),
                {"t": topic, "p": json.dumps(legacy_post)},
            )
        await redis.xadd(
            stream_name(topic), {"id": "koo_media:1", "type": "media.uploaded", "data": json.dumps(legacy_media)}
        )
        # The post service's own relay publishes the row; the consumer reads both entries.
        await eventually(consumer.step, lambda _: len(seen) >= 2)
    finally:
        await engine.dispose()
        await redis.delete(stream_name(topic))
    by_type = {e.event_type: e for e in seen}
    post, media = by_type["post.created"].payload, by_type["media.uploaded"].payload
    assert isinstance(post, events_pb.PostCreated)
    assert (post.post_id, post.author_id, post.text, list(post.hashtags)) == (11, 7, "पुराना", ["पुराना"])
    assert post.reply_to_id == 0
    assert by_type["post.created"].event_id.startswith("koo_post:")
    assert isinstance(media, events_pb.MediaUploaded) and media.kind == media_pb.MEDIA_KIND_VIDEO
    assert by_type["media.uploaded"].event_id == "koo_media:1"


async def test_events_redis_lost_are_published_again_from_the_outbox(
    database_url: str, redis_url: str, data_dir: Path
) -> None:
    """Published rows stay for the retention window; when Redis comes back without its data
    (here: a flushed database), the relay publishes them again and consumers catch up."""
    async with isolated_stack(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, redis_db=11, overrides={}
    ) as world:
        stack = world.stack
        author = await new_account(stack.channel("user"))
        reader = await new_account(stack.channel("user"))
        await follow(stack, reader, author)
        first = await publish(stack, author, "पहली #स्मृति")
        await eventually(lambda: events_about(world.redis, first.id), lambda e: "post.created" in e)
        engine = create_engine(world.database_url, pool_size=1)
        try:
            async with engine.connect() as db:
                kept = (
                    await db.execute(text("SELECT count(*) FROM koo_post.outbox WHERE published_at IS NOT NULL"))
                ).scalar_one()
            assert kept >= 1  # published, and still there
            await world.redis.flushdb()  # Redis restarted without its data
            await eventually(lambda: events_about(world.redis, first.id), lambda e: "post.created" in e, within=20)
            await eventually(lambda: home_ids(stack, reader), lambda ids: first.id in ids, within=20)
            # Beyond the retention window, rows go.
            assert await prune_outbox(engine, schema="koo_post", retention=0) >= 1
        finally:
            await engine.dispose()
