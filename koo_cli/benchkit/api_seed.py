"""Seeding through the services' gRPC APIs (`koo seed --graph reed98`).

Every account, follow and post goes through the same RPCs the gateway calls, so the
outbox events, fanout, search indexing and counters happen as in production. Calls run
with bounded concurrency; each finished unit (an account, one user's follows, one user's
posts) is recorded in koo_seed, and posts carry a request id, so a rerun resumes without
duplicating anything.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
from tqdm import tqdm

from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from koo_cli.benchkit import progress
from koo_cli.benchkit.graphs import Graph
from koo_cli.benchkit.population import write_population
from koo_cli.benchkit.runtime import Runtime
from koo_cli.benchkit.texts import display_name, post_text, user_languages
from koo_cli.benchkit.tokens import SEED_PASSWORD, mint, signer_for
from services.kit.channels import open_channel

Log = Callable[[str], None]
# Every call the seeder makes is idempotent (follow is an upsert, posts carry a request id,
# a repeated sign-up finds the account), so transient server errors are retried too.
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
}


@dataclass(frozen=True)
class ApiPlan:
    graph_name: str
    graph: Graph
    posts_per_user: int
    concurrency: int
    seed: int
    handle_prefix: str

    @property
    def run_key(self) -> str:
        return f"{self.graph_name}:api:prefix={self.handle_prefix}"

    def handle(self, idx: int) -> str:
        return f"{self.handle_prefix}_{idx}"


async def _call(fn: Callable[[], Awaitable[Any]], *, attempts: int = 8) -> Any:
    for attempt in range(attempts):
        try:
            return await fn()
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in RETRYABLE or attempt == attempts - 1:
                raise
            await asyncio.sleep(min(10.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")


async def _pool(items: Iterable[int], worker: Callable[[int], Awaitable[None]], concurrency: int) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def run() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await worker(item)

    await asyncio.gather(*(run() for _ in range(max(1, concurrency))))


class ApiSeeder:
    def __init__(self, runtime: Runtime, plan: ApiPlan, *, log: Log, progress_bar: bool = True) -> None:
        self.rt = runtime
        self.plan = plan
        self.log = log
        self.bar = progress_bar
        self.conn: psycopg.Connection[Any] = psycopg.connect(runtime.psycopg_url, autocommit=True)
        progress.ensure_schema(self.conn)
        self.key = plan.run_key
        self.tokens: dict[int, str] = {}

    def close(self) -> None:
        self.conn.close()

    async def run(self) -> dict[str, Any]:
        s = self.rt.settings
        timings: dict[str, float] = {}
        # The seeder is a Koo workload of its own: internal RPCs need a service token.
        identity = s.workload_identity("seed")
        async with (
            open_channel(s.user_addr, timeout=s.call_timeout, identity=identity) as user_channel,
            open_channel(s.post_addr, timeout=s.call_timeout, identity=identity) as post_channel,
        ):
            users = user_grpc.UserServiceStub(user_channel)
            posts = post_grpc.PostServiceStub(post_channel)
            stages: tuple[tuple[str, Callable[[], Coroutine[Any, Any, None]]], ...] = (
                ("accounts", lambda: self.accounts(users)),
                ("tokens", lambda: self.sign_in(users)),
                ("follows", lambda: self.follows(users)),
                ("posts", lambda: self.posts(posts)),
            )
            for name, stage in stages:
                started = time.monotonic()
                await stage()
                timings[name] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        await wait_for_events(self.rt, log=self.log)
        timings["events_drained"] = round(time.monotonic() - started, 1)
        accounts = progress.accounts(self.conn, self.key)
        write_population(self.rt.data_dir, self.plan.graph_name, [accounts[i] for i in sorted(accounts)])
        return {"run_key": self.key, "seconds": timings, "graph": self.plan.graph.summary()}

    async def accounts(self, users: user_grpc.UserServiceStub) -> None:
        have = progress.accounts(self.conn, self.key)
        todo = [i for i in range(self.plan.graph.n) if i not in have]
        bar = tqdm(total=self.plan.graph.n, initial=len(have), desc="accounts", unit="user", disable=not self.bar)

        async def create(idx: int) -> None:
            rng = random.Random(self.plan.seed * 1_000_003 + idx)
            languages = user_languages(rng)
            handle = self.plan.handle(idx)
            request = user_pb.CreateUserRequest(
                handle=handle,
                password=SEED_PASSWORD,
                display_name=display_name(rng, languages[0]),
                languages=languages,
            )
            try:
                reply = await _call(lambda: users.CreateUser(request, timeout=30))
                user_id = int(reply.user.id)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
                found = await _call(lambda: users.GetUserByHandle(user_pb.GetUserByHandleRequest(handle=handle)))
                user_id = int(found.user.id)
            progress.add_account(self.conn, self.key, idx, user_id, handle)
            bar.update(1)

        # argon2id makes registration CPU-bound in the user service: a few at a time.
        await _pool(todo, create, min(self.plan.concurrency, 4))
        bar.close()

    async def sign_in(self, users: user_grpc.UserServiceStub) -> None:
        accounts = progress.accounts(self.conn, self.key)
        signer = signer_for(self.rt.settings)
        if signer is not None:
            self.tokens = {idx: mint(signer, uid, ttl_seconds=6 * 3600) for idx, (uid, _) in accounts.items()}
            return
        self.log("no signing key in the data dir: signing in through the API (argon2id per user)")
        bar = tqdm(total=len(accounts), desc="sign-in", unit="user", disable=not self.bar)

        async def login(idx: int) -> None:
            request = user_pb.CreateSessionRequest(handle=accounts[idx][1], password=SEED_PASSWORD)
            reply = await _call(lambda: users.CreateSession(request, timeout=30))
            self.tokens[idx] = str(reply.access_token)
            bar.update(1)

        await _pool(sorted(accounts), login, min(self.plan.concurrency, 4))
        bar.close()

    def _metadata(self, idx: int) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[idx]}"),)

    async def follows(self, users: user_grpc.UserServiceStub) -> None:
        accounts = progress.accounts(self.conn, self.key)
        follows = self.plan.graph.follows
        done = progress.done_units(self.conn, self.key, "follows")
        by_follower: dict[int, list[int]] = {}
        for a, b in follows.tolist():
            by_follower.setdefault(a, []).append(b)
        remaining = sum(len(v) for k, v in by_follower.items() if k not in done)
        bar = tqdm(total=len(follows), initial=len(follows) - remaining, desc="follows", disable=not self.bar)

        async def follow_all(idx: int) -> None:
            meta = self._metadata(idx)
            for other in by_follower[idx]:
                request = user_pb.FollowUserRequest(user_id=accounts[other][0])
                await _call(lambda r=request: users.FollowUser(r, metadata=meta, timeout=30))  # type: ignore[misc]
                bar.update(1)
            progress.mark_units(self.conn, self.key, "follows", [idx])

        await _pool([i for i in sorted(by_follower) if i not in done], follow_all, self.plan.concurrency)
        bar.close()

    async def posts(self, posts: post_grpc.PostServiceStub) -> None:
        n = self.plan.posts_per_user
        if n <= 0:
            return
        accounts = progress.accounts(self.conn, self.key)
        done = progress.done_units(self.conn, self.key, f"posts-{n}")
        todo = [i for i in sorted(accounts) if i not in done]
        bar = tqdm(total=len(accounts) * n, initial=(len(accounts) - len(todo)) * n, desc="posts", disable=not self.bar)
        handles = [h for _, h in accounts.values()]

        async def write(idx: int) -> None:
            rng = random.Random(self.plan.seed * 7_000_003 + idx)
            languages = user_languages(random.Random(self.plan.seed * 1_000_003 + idx))
            meta = self._metadata(idx)
            for k in range(n):
                language = languages[0] if rng.random() < 0.8 else languages[-1]
                mention = rng.choice(handles) if rng.random() < 0.2 else None
                text = post_text(rng, language, mention=mention, url=rng.random() < 0.1)
                request = post_pb.CreatePostRequest(text=text, request_id=f"seed-{self.key}-{idx}-{k}")
                await _call(lambda r=request: posts.CreatePost(r, metadata=meta, timeout=30))  # type: ignore[misc]
                bar.update(1)
            progress.mark_units(self.conn, self.key, f"posts-{n}", [idx])

        await _pool(todo, write, self.plan.concurrency)
        bar.close()


async def stream_backlog(redis: Any) -> dict[str, int]:
    """Events not yet handled, per `<stream>/<group>` (undelivered + pending)."""
    backlog: dict[str, int] = {}
    async for raw in redis.scan_iter(match="koo:events:*", count=100):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if name.count(":") != 2:
            continue  # dead-letter and other side streams
        try:
            groups = await redis.xinfo_groups(name)
            last = (await redis.xinfo_stream(name))["last-generated-id"]
        except Exception:  # noqa: BLE001 - a key of another type, or gone meanwhile
            continue
        last_id = last.decode() if isinstance(last, bytes) else str(last)
        for group in groups:
            gname = group["name"].decode() if isinstance(group["name"], bytes) else str(group["name"])
            delivered = group["last-delivered-id"]
            delivered = delivered.decode() if isinstance(delivered, bytes) else str(delivered)
            lag = group.get("lag")
            undelivered = int(lag) if lag is not None else (0 if delivered == last_id else 1)
            backlog[f"{name}/{gname}"] = undelivered + int(group["pending"])
    return backlog


async def outbox_backlog(conn: psycopg.AsyncConnection[Any]) -> int:
    rows = await conn.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox' AND table_schema LIKE 'koo_%'"
    )
    total = 0
    for (schema,) in await rows.fetchall():
        # The schema name comes from the catalog, not from input.
        query = f'SELECT count(*) FROM "{schema}".outbox'  # nosec B608
        count = await (await conn.execute(query)).fetchone()
        total += int(count[0]) if count else 0
    return total


async def wait_for_events(runtime: Runtime, *, log: Log, limit_s: float = 600.0) -> None:
    """Until every outbox is relayed and every consumer group has handled its stream."""
    from services.kit.redis_client import create_redis

    redis = create_redis(runtime.redis_url)
    started = time.monotonic()
    try:
        async with await psycopg.AsyncConnection.connect(runtime.psycopg_url, autocommit=True) as conn:
            while True:
                outbox = await outbox_backlog(conn)
                streams = await stream_backlog(redis)
                behind = {k: v for k, v in streams.items() if v}
                if not outbox and not behind:
                    return
                waited = time.monotonic() - started
                if waited > limit_s:
                    log(f"events still pending after {limit_s:.0f}s: outbox {outbox}, streams {behind}")
                    return
                if int(waited) % 15 == 0:
                    log(f"waiting for fanout and indexing to catch up: outbox {outbox}, streams {behind}")
                await asyncio.sleep(1.0)
    finally:
        await redis.aclose()
