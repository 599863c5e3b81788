"""Fanout delay and Redis bytes per timeline entry.

    python -m tests.load.fanout_bench [--sizes 100,1000,10000] [--posts 30]

Starts the whole stack in this process (like the integration tests: real gRPC, real
PostgreSQL and Redis; KOO_TEST_DATABASE_URL / KOO_TEST_REDIS_URL, else embedded ones) on
a fresh database and its own Redis logical database (KOO_BENCH_REDIS_DB, default 12, so
other test runs' consumers on the same server cannot take its events).

For each audience size an author is registered through the API and its followers are
created with bulk SQL (COPY into koo_user.users and koo_user.follows: registering 10,000
users through argon2 would take minutes and measures nothing about fanout), each with an
active (existing) home timeline. The author then publishes posts one at a time; a post's
delay runs from just before CreatePost to the moment the post is in every follower's
stored timeline, which is what their next home-feed read returns. Fanout writes followers
in id order, so the bench polls the last follower (every 2 ms) and then checks all of them
(untimed) before the next post.

Bytes per entry: timelines filled to 800 entries through the same Lua path as fanout,
MEMORY USAGE (SAMPLES 0) summed and divided by the entries; for comparison the same
timeline converted to Redis's skiplist encoding (what it becomes above
zset-max-listpack-entries).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg
from redis.asyncio import Redis

from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from services.feed.keys import FeedKeys
from services.feed.timeline import SENTINEL, Timelines
from services.kit.events import decode_entry
from services.kit.ids import Snowflake
from services.kit.migrations import upgrade_all
from services.kit.redis_client import create_redis
from tests.backends import test_database, test_redis
from tests.clients import new_account
from tests.harness import Stack, start_stack
from tests.posting import redis_db_url, unused_redis_db

KEYS = FeedKeys()
CAP = 800


@dataclass
class Result:
    followers: int
    delays_ms: list[float]
    create_ms: list[float]
    published_ms: list[float]

    def pct(self, q: float) -> float:
        ordered = sorted(self.delays_ms)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]


def _ids(n: int, worker: int) -> Iterator[int]:
    flake = Snowflake(worker)
    for _ in range(n):
        yield flake.next_id()


def bulk_followers(database_url: str, *, author_id: int, n: int) -> list[int]:
    """`n` users following the author, inserted with COPY (one transaction)."""
    tag = uuid.uuid4().hex[:6]
    user_ids = list(_ids(n, 1001))
    follow_ids = list(_ids(n, 1002))
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY koo_user.users (id, handle, handle_lower, display_name, languages, password_hash) FROM STDIN"
        ) as copy:
            for i, uid in enumerate(user_ids):
                handle = f"b{tag}_{i}"
                copy.write_row((uid, handle, handle, f"पाठक {i}", ["hi"], "!bulk-no-login"))
        with cur.copy("COPY koo_user.follows (follower_id, followee_id, id, languages) FROM STDIN") as copy:
            for uid, fid in zip(user_ids, follow_ids, strict=True):
                copy.write_row((uid, author_id, fid, []))
        cur.execute("UPDATE koo_user.users SET follower_count = follower_count + %s WHERE id = %s", (n, author_id))
        cur.execute("UPDATE koo_user.users SET following_count = 1 WHERE id = ANY(%s)", (user_ids,))
        conn.commit()
    return sorted(user_ids)


async def activate(redis: Redis, user_ids: list[int]) -> None:
    """Give each follower a valid, active home timeline (as reading the feed would)."""
    timelines = Timelines(redis, keys=KEYS, cap=CAP, active_seconds=14 * 86_400)
    for start in range(0, len(user_ids), 1000):
        pipe = redis.pipeline(transaction=False)
        for uid in user_ids[start : start + 1000]:
            pipe.zadd(KEYS.home(uid), {SENTINEL: 1.0}, nx=True)
            pipe.expire(KEYS.home(uid), timelines.active_seconds)
        await pipe.execute()


async def all_have(redis: Redis, user_ids: list[int], post_id: int) -> bool:
    member = str(post_id)
    for start in range(0, len(user_ids), 2000):
        pipe = redis.pipeline(transaction=False)
        for uid in user_ids[start : start + 2000]:
            pipe.zscore(KEYS.home(uid), member)
        if any(score is None for score in await pipe.execute()):
            return False
    return True


async def measure_size(stack: Stack, redis: Redis, database_url: str, *, n: int, posts: int) -> Result:
    author = await new_account(stack.channel("user"), languages=["hi"])
    followers = await asyncio.to_thread(bulk_followers, database_url, author_id=author.id, n=n)
    await activate(redis, followers)
    stub = post_grpc.PostServiceStub(stack.channel("post"))
    last = followers[-1]
    delays: list[float] = []
    creates: list[float] = []
    published: list[float] = []
    for i in range(posts + 2):  # the first two warm caches and connections
        wall = time.time()
        started = time.perf_counter()
        reply = await stub.CreatePost(post_pb.CreatePostRequest(text=f"फैनआउट परीक्षण {i} #बेंच"), metadata=author.auth)
        created = (time.perf_counter() - started) * 1000
        member = str(reply.post.id)
        deadline = started + 60
        while await redis.zscore(KEYS.home(last), member) is None:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"post {reply.post.id} not fanned out to {n} followers within 60 s")
            await asyncio.sleep(0.002)
        elapsed = (time.perf_counter() - started) * 1000
        if not await all_have(redis, followers, reply.post.id):
            raise RuntimeError("the last follower had the post but some other follower did not")
        if i >= 2:
            delays.append(elapsed)
            creates.append(created)
            published.append(await _published_at(redis, reply.post.id) - wall * 1000)
        await asyncio.sleep(random.uniform(0.05, 0.15))  # not in lock-step with the relay's poll
    return Result(n, delays, creates, published)


async def _published_at(redis: Redis, post_id: int) -> float:
    """When the relay put the post's event on the stream (the stream entry id's time)."""
    for mid, fields in await redis.xrevrange("koo:events:post", count=50):
        event = decode_entry(mid, fields)
        if getattr(event.payload, "post_id", None) == post_id:
            return float(mid.split(b"-")[0])
    return float("nan")


async def bytes_per_entry(redis: Redis, *, timelines: int = 50) -> tuple[float, float, str]:
    """(listpack bytes/entry, skiplist bytes/entry, encoding) over full timelines."""
    keys = FeedKeys(f"bench{uuid.uuid4().hex[:6]}")
    tl = Timelines(redis, keys=keys, cap=CAP, active_seconds=3600)
    users = list(range(1, timelines + 1))
    for uid in users:
        await tl.start_empty(uid)
    for post_id in _ids(CAP + 50, 1003):  # a little past the cap: trimming included
        await tl.fan_out(users, post_id)
    total = 0
    entries = 0
    for uid in users:
        total += int(await redis.memory_usage(keys.home(uid), samples=0) or 0)
        entries += await tl.size(uid)
    encoding = (await redis.object("encoding", keys.home(1))) or b"?"
    # The same content as a skiplist: one over-long member forces the conversion, which
    # Redis does not undo when it is removed again.
    key = keys.home(1)
    await redis.zadd(key, {"x" * 80: 1.0})
    await redis.zrem(key, "x" * 80)
    skiplist = int(await redis.memory_usage(key, samples=0) or 0) / await tl.size(1)
    await redis.delete(*(keys.home(u) for u in users))
    return total / entries, skiplist, encoding.decode() if isinstance(encoding, bytes) else str(encoding)


async def run(sizes: list[int], posts: int) -> None:
    with ExitStack() as stack_of_backends, TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        database_url = stack_of_backends.enter_context(test_database(data_dir))
        base_redis = stack_of_backends.enter_context(test_redis(data_dir))
        redis_url = redis_db_url(
            base_redis, await unused_redis_db(base_redis, preferred=int(os.environ.get("KOO_BENCH_REDIS_DB", "12")))
        )
        await asyncio.to_thread(upgrade_all, database_url)
        redis = create_redis(redis_url)
        await redis.flushdb()
        stack = await start_stack(database_url=database_url, redis_url=redis_url, data_dir=data_dir)
        try:
            results = [await measure_size(stack, redis, database_url, n=n, posts=posts) for n in sizes]
            listpack, skiplist, encoding = await bytes_per_entry(redis)
        finally:
            await stack.close()
            await redis.flushdb()
            await redis.aclose()
    print(f"fanout delay, post -> in every active follower's timeline ({posts} posts per size, one at a time)")
    print("| followers | p50 ms | p90 ms | p99 ms | max ms | mean ms |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.followers:,} | {r.pct(0.5):.0f} | {r.pct(0.9):.0f} | {r.pct(0.99):.0f} "
            f"| {max(r.delays_ms):.0f} | {statistics.mean(r.delays_ms):.0f} |"
        )
    print("where the time goes (medians): CreatePost answered / event on the stream / in every timeline")
    for r in results:
        print(
            f"  {r.followers:,} followers: {statistics.median(r.create_ms):.0f} ms / "
            f"{statistics.median(r.published_ms):.0f} ms / {statistics.median(r.delays_ms):.0f} ms"
        )
    print(f"Redis bytes per timeline entry ({CAP}-entry timelines, encoding {encoding}): {listpack:.1f}")
    print(f"same timeline as a skiplist: {skiplist:.1f} bytes per entry")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100,1000,10000", help="follower counts, comma-separated")
    parser.add_argument("--posts", type=int, default=30, help="measured posts per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    os.environ.setdefault("KOO_ENV", "test")
    asyncio.run(run(sizes, args.posts))


if __name__ == "__main__":
    main()
