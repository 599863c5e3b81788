"""Bulk loading of a synthetic graph, bypassing the API (`koo seed --graph powerlaw`).

What goes straight into the stores, and what that skips:

- `koo_user.users` and `koo_user.follows` by PostgreSQL COPY: no argon2 per account (one
  precomputed hash of the seed password is shared), no `user.created`/`follow.*` events
  (so no search indexing of profiles through the indexer: profiles are indexed below
  through the search backend directly), follower/following/post counts written as
  computed, FK checks skipped for the session when the role may (session_replication_role).
- `koo_post.posts` by COPY with Snowflake-layout ids (worker id 1023, timestamps in the
  past, so they never collide with ids the services issue): no outbox rows, so no
  `post.created` events: no fanout, no search indexing, no trend counting, no
  user-counters. Mentions and hashtags are extracted as the post service does.
- Home timelines: written to Redis in pipelines for the active users (newest 800 posts of
  the accounts they follow, celebrities excluded as the fanout would), in the feed
  service's key layout. Others' timelines are rebuilt by the feed service when they read.
- Search: posts and profiles go through the search backend's own `index_posts` /
  `index_users` (its bulk path), not through the event stream.

Every stage is chunked and deterministic (numpy RNG seeded per chunk), and records its
progress in the transaction that wrote the chunk, so a rerun resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from tqdm import tqdm

from koo_cli.benchkit import progress
from koo_cli.benchkit.graphs import CELEBRITY_THRESHOLD, Graph, IntArray, powerlaw_graph
from koo_cli.benchkit.runtime import Runtime
from koo_cli.benchkit.texts import LANGUAGE_WEIGHTS, NAMES, template_pool
from koo_cli.benchkit.tokens import SEED_PASSWORD
from services.kit.ids import KOO_EPOCH_MS, SEQUENCE_BITS, WORKER_BITS
from services.kit.text import clean_text
from services.post.store import POSTS_COPY, post_copy_line
from services.user.store import FOLLOWS_COPY, USERS_COPY, follow_copy_line, user_copy_line

SEED_WORKER_ID = 1023
POST_GAP_MS = 100  # one post every 100 ms on average, newest first
USER_CHUNK = 100_000
FOLLOW_CHUNK = 1_000_000
POST_CHUNK = 200_000
TEMPLATES = 4096
TIMELINE_CAP = 800

Log = Callable[[str], None]


def snowflake(ms: IntArray) -> IntArray:
    """Ids for unique millisecond timestamps (sequence 0, the seeding worker id)."""
    return ((ms - KOO_EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS)) | (SEED_WORKER_ID << SEQUENCE_BITS)


def _ts(ms: IntArray) -> list[str]:
    return [s + "+00" for s in np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")]


@dataclass(frozen=True)
class PowerlawPlan:
    users: int
    posts: int
    mean_following: float
    active_users: int
    seed: int

    @property
    def run_key(self) -> str:
        # Posts are left out: a rerun with more posts extends the same graph.
        return f"powerlaw:n={self.users}:f={self.mean_following:g}:seed={self.seed}"

    def handle(self, idx: int) -> str:
        return f"pl{self.users}s{self.seed}_{idx}"


class BulkSeeder:
    def __init__(self, runtime: Runtime, plan: PowerlawPlan, *, log: Log, progress_bar: bool = True) -> None:
        self.rt = runtime
        self.plan = plan
        self.log = log
        self.bar = progress_bar
        self.conn: psycopg.Connection[Any] = psycopg.connect(runtime.psycopg_url, autocommit=True)
        progress.ensure_schema(self.conn)
        self.key = plan.run_key
        _, meta = progress.get_stage(self.conn, self.key, "plan")
        if not meta:
            with self.conn.transaction():
                progress.set_stage(self.conn, self.key, "plan", 0, {"base_ms": int(time.time() * 1000) - 60_000})
            _, meta = progress.get_stage(self.conn, self.key, "plan")
        self.base_ms = int(meta["base_ms"])
        self.graph: Graph | None = None
        self._ids: IntArray | None = None

    # Derived, deterministic data -------------------------------------------------------

    def load_graph(self) -> Graph:
        if self.graph is None:
            started = time.monotonic()
            self.graph = powerlaw_graph(self.plan.users, mean_following=self.plan.mean_following, seed=self.plan.seed)
            summary = self.graph.summary()
            self.log(f"graph: {json.dumps(summary)} ({time.monotonic() - started:.1f}s)")
        return self.graph

    @property
    def user_ids(self) -> IntArray:
        if self._ids is None:
            idx = np.arange(self.plan.users, dtype=np.int64)
            # Accounts made over the year before the first post, 3 ms apart.
            self._ids = snowflake(self.base_ms - 400 * 86_400_000 + idx * 3)
        return self._ids

    def activity(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """How much each user posts: lognormal, so some post a lot and most a little."""
        rng = np.random.default_rng([self.plan.seed, 7])
        weights = rng.lognormal(0.0, 1.2, size=self.plan.users)
        cdf: np.ndarray[Any, np.dtype[np.float64]] = np.cumsum(weights)
        cdf /= cdf[-1]
        return cdf

    def active(self) -> IntArray:
        """The users who read their feeds (the benchmark's population): a fixed sample."""
        rng = np.random.default_rng([self.plan.seed, 11])
        n = min(self.plan.active_users, self.plan.users)
        return np.sort(rng.choice(self.plan.users, size=n, replace=False)).astype(np.int64)

    def post_chunk(
        self, chunk: int, cdf: np.ndarray[Any, np.dtype[np.float64]]
    ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Global indices, ids, authors, template numbers and mention targets (-1 = none) of a chunk."""
        rng = np.random.default_rng([self.plan.seed, 101, chunk])
        start = chunk * POST_CHUNK
        idx = np.arange(start, start + POST_CHUNK, dtype=np.int64)
        ms = self.base_ms - idx * POST_GAP_MS - rng.integers(0, POST_GAP_MS, size=POST_CHUNK)
        authors = np.minimum(np.searchsorted(cdf, rng.random(POST_CHUNK), side="right"), self.plan.users - 1)
        templates = rng.integers(0, TEMPLATES, size=POST_CHUNK)
        mentions = np.where(rng.random(POST_CHUNK) < 0.15, rng.integers(0, self.plan.users, size=POST_CHUNK), -1)
        return snowflake(ms), authors.astype(np.int64), templates, mentions

    # Stages -----------------------------------------------------------------------------

    def run(self, *, search_limit: int) -> dict[str, Any]:
        timings: dict[str, float] = {}
        for name, stage in (
            ("users", self.load_users),
            ("follows", self.load_follows),
            ("posts", self.load_posts),
            ("counts", self.fix_counts),
            ("timelines", self.build_timelines),
        ):
            started = time.monotonic()
            stage()
            timings[name] = round(time.monotonic() - started, 1)
        if search_limit > 0:
            started = time.monotonic()
            self.index_search(search_limit)
            timings["search"] = round(time.monotonic() - started, 1)
        self.write_user_file()
        return {"run_key": self.key, "seconds": timings, "graph": self.load_graph().summary()}

    def _fast_session(self) -> None:
        """Skip FK triggers for this session's COPY when the role is allowed to (superuser)."""
        try:
            self.conn.execute("SET session_replication_role = replica")
        except psycopg.Error:
            self.log("note: cannot skip FK checks (not superuser); loading with them")

    def load_users(self) -> None:
        n = self.plan.users
        done, _ = progress.get_stage(self.conn, self.key, "users")
        if done >= n:
            return
        graph = self.load_graph()
        followers, following = graph.follower_counts, graph.following_counts
        from argon2 import PasswordHasher

        from services.user.settings import UserSettings

        us = UserSettings()
        password_hash = PasswordHasher(
            time_cost=us.argon2_time_cost, memory_cost=us.argon2_memory_kib, parallelism=us.argon2_parallelism
        ).hash(SEED_PASSWORD)
        rng = random.Random(self.plan.seed)
        langs = list(LANGUAGE_WEIGHTS)
        weights = list(LANGUAGE_WEIGHTS.values())
        profiles = [(lang, name) for lang in langs for name in NAMES[lang]]
        by_lang = {lang: [p for p in profiles if p[0] == lang] for lang in langs}
        created = _ts(self.base_ms - 400 * 86_400_000 + np.arange(n, dtype=np.int64) * 3)
        ids = self.user_ids
        self._fast_session()
        with tqdm(total=n, initial=done, desc="users", unit="user", disable=not self.bar) as bar:
            while done < n:
                end = min(done + USER_CHUNK, n)
                lines = []
                for i in range(done, end):
                    rng.seed(self.plan.seed * 1_000_003 + i)
                    lang = rng.choices(langs, weights)[0]
                    languages = [lang, "en"] if lang != "en" and rng.random() < 0.3 else [lang]
                    name = rng.choice(by_lang[lang])[1]
                    handle = self.plan.handle(i)
                    verified = bool(followers[i] > CELEBRITY_THRESHOLD)
                    lines.append(
                        user_copy_line(
                            user_id=int(ids[i]),
                            handle=handle,
                            display_name=name,
                            languages=languages,
                            verified=verified,
                            password_hash=password_hash,
                            follower_count=int(followers[i]),
                            following_count=int(following[i]),
                            created_at=created[i],
                        )
                    )
                with self.conn.transaction():
                    with self.conn.cursor().copy(USERS_COPY) as copy:
                        copy.write("".join(lines).encode())
                    progress.set_stage(self.conn, self.key, "users", end)
                bar.update(end - done)
                done = end

    def load_follows(self) -> None:
        graph = self.load_graph()
        total = int(graph.follows.shape[0])
        done, _ = progress.get_stage(self.conn, self.key, "follows")
        if done >= total:
            return
        ids = self.user_ids
        self._fast_session()
        with tqdm(total=total, initial=done, desc="follows", unit="follow", disable=not self.bar) as bar:
            while done < total:
                end = min(done + FOLLOW_CHUNK, total)
                part = graph.follows[done:end]
                j = np.arange(done, end, dtype=np.int64)
                ms = self.base_ms - 300 * 86_400_000 + j  # one follow per ms, after every account exists
                fids = snowflake(ms)
                created = _ts(ms)
                a, b = ids[part[:, 0]], ids[part[:, 1]]
                lines = [
                    follow_copy_line(
                        follower_id=int(a[k]), followee_id=int(b[k]), follow_id=int(fids[k]), created_at=created[k]
                    )
                    for k in range(end - done)
                ]
                with self.conn.transaction():
                    with self.conn.cursor().copy(FOLLOWS_COPY) as copy:
                        copy.write("".join(lines).encode())
                    progress.set_stage(self.conn, self.key, "follows", end)
                bar.update(end - done)
                done = end

    def _templates(self) -> list[tuple[str, str, list[str]]]:
        """(text, language, hashtags) per template."""
        pool = template_pool(random.Random(self.plan.seed), TEMPLATES)
        return [(clean_text(t.text, max_graphemes=500), t.language, list(t.hashtags)) for t in pool]

    def load_posts(self) -> None:
        total = self.plan.posts
        done, _ = progress.get_stage(self.conn, self.key, "posts")
        if done >= total:
            return
        templates = self._templates()
        cdf = self.activity()
        ids = self.user_ids
        self._fast_session()
        with tqdm(total=total, initial=done, desc="posts", unit="post", disable=not self.bar) as bar:
            while done < total:
                chunk = done // POST_CHUNK
                offset = done - chunk * POST_CHUNK
                count = min(POST_CHUNK, total - chunk * POST_CHUNK)
                post_ids, authors, tpl, mentions = self.post_chunk(chunk, cdf)
                created = _ts((post_ids >> (WORKER_BITS + SEQUENCE_BITS)) + KOO_EPOCH_MS)
                author_ids = ids[authors]
                lines = []
                for k in range(offset, count):
                    text, lang, tags = templates[tpl[k]]
                    m = int(mentions[k])
                    h = self.plan.handle(m) if m >= 0 else ""
                    lines.append(
                        post_copy_line(
                            post_id=int(post_ids[k]),
                            author_id=int(author_ids[k]),
                            body=f"@{h} {text}" if h else text,
                            language=lang,
                            hashtags=tags,
                            mentions=[h] if h else [],
                            mention_ids=[int(ids[m])] if h else [],
                            created_at=created[k],
                        )
                    )
                end = chunk * POST_CHUNK + count
                with self.conn.transaction():
                    with self.conn.cursor().copy(POSTS_COPY) as copy:
                        copy.write("".join(lines).encode())
                    progress.set_stage(self.conn, self.key, "posts", end)
                bar.update(end - done)
                done = end
        self.conn.execute("ANALYZE koo_post.posts")

    def fix_counts(self) -> None:
        """Post counts of the seeded accounts, from what the posts table holds."""
        done, _ = progress.get_stage(self.conn, self.key, "counts")
        if done >= self.plan.posts:
            return
        ids = self.user_ids
        lo, hi = int(ids[0]), int(ids[-1])
        with self.conn.transaction():
            self.conn.execute(
                "UPDATE koo_user.users u SET post_count = c.n FROM ("
                "  SELECT author_id, count(*) AS n FROM koo_post.posts WHERE author_id BETWEEN %s AND %s "
                "  AND deleted_at IS NULL GROUP BY author_id) c "
                "WHERE u.id = c.author_id AND u.post_count <> c.n",
                (lo, hi),
            )
            progress.set_stage(self.conn, self.key, "counts", self.plan.posts)
        self.conn.execute("ANALYZE koo_user.users")
        self.conn.execute("ANALYZE koo_user.follows")

    # Timelines ----------------------------------------------------------------------

    def _author_posts(self) -> tuple[IntArray, IntArray]:
        """Post ids grouped by author (CSR: offsets, ids newest first), recomputed from the chunks."""
        cdf = self.activity()
        chunks = (self.plan.posts + POST_CHUNK - 1) // POST_CHUNK
        all_ids: list[IntArray] = []
        all_authors: list[IntArray] = []
        for c in range(chunks):
            post_ids, authors, _, _ = self.post_chunk(c, cdf)
            count = min(POST_CHUNK, self.plan.posts - c * POST_CHUNK)
            all_ids.append(post_ids[:count])
            all_authors.append(authors[:count])
        pid = np.concatenate(all_ids) if all_ids else np.zeros(0, dtype=np.int64)
        auth = np.concatenate(all_authors) if all_authors else np.zeros(0, dtype=np.int64)
        order = np.lexsort((-pid, auth))
        counts = np.bincount(auth, minlength=self.plan.users)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return offsets, pid[order]

    def timeline_entries(self) -> Iterator[tuple[int, IntArray]]:
        """(user index, newest post ids for their home timeline) for each active user."""
        graph = self.load_graph()
        offsets, posts = self._author_posts()
        followers = graph.follower_counts
        # Follows grouped by follower (graph.follows is sorted by follower).
        f_offsets = np.searchsorted(graph.follows[:, 0], np.arange(self.plan.users + 1))
        for u in self.active():
            followees = graph.follows[f_offsets[u] : f_offsets[u + 1], 1]
            followees = followees[followers[followees] <= CELEBRITY_THRESHOLD]
            sources = [posts[offsets[a] : min(offsets[a + 1], offsets[a] + TIMELINE_CAP)] for a in (*followees, u)]
            merged = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
            if merged.size > TIMELINE_CAP:
                merged = np.partition(merged, merged.size - TIMELINE_CAP)[-TIMELINE_CAP:]
            yield int(u), merged

    def build_timelines(self) -> None:
        done, _ = progress.get_stage(self.conn, self.key, "timelines")
        if done >= self.plan.posts:
            return
        asyncio.run(self._write_timelines())
        with self.conn.transaction():
            progress.set_stage(self.conn, self.key, "timelines", self.plan.posts)

    async def _write_timelines(self) -> None:
        """The layout the feed service's rebuild writes (services/feed/timeline.py), many users per pipeline."""
        from redis.asyncio import Redis

        from services.feed.keys import FeedKeys
        from services.feed.settings import FeedSettings
        from services.feed.timeline import READY, SENTINEL

        feed = FeedSettings()
        keys = FeedKeys()
        # Big pipelines: a longer socket timeout than the services' 5 s.
        redis = Redis.from_url(self.rt.redis_url, socket_timeout=120, socket_connect_timeout=10)
        ids = self.user_ids
        entries = 0
        active = self.active()
        sentinel, sentinel_score = SENTINEL.encode(), repr(READY).encode()
        try:
            pipe = redis.pipeline(transaction=False)
            pending = 0
            for u, post_ids in tqdm(
                self.timeline_entries(), total=len(active), desc="timelines", unit="user", disable=not self.bar
            ):
                key = keys.home(int(ids[u]))
                # Score and member are the same decimal id (as fanout writes them), pre-encoded:
                # redis-py's per-argument encoding is most of this stage's CPU otherwise.
                args: list[bytes] = [sentinel_score, sentinel]
                for member in (str(p).encode() for p in post_ids.tolist()):
                    args += (member, member)
                pipe.delete(key)
                pipe.execute_command("ZADD", key, *args)
                pipe.zremrangebyrank(key, 1, -(feed.feed_timeline_cap + 1))
                pipe.expire(key, feed.active_window_seconds)
                entries += int(post_ids.size)
                pending += int(post_ids.size) + 1
                if pending >= 50_000:  # entries per round trip: a few MB
                    await pipe.execute()
                    pending = 0
            if pending:
                await pipe.execute()
        finally:
            await redis.aclose()
        self.log(f"timelines: {len(active)} active users, {entries} entries")

    # Search --------------------------------------------------------------------------

    def index_search(self, limit: int) -> None:
        """Profiles, and the newest `limit` posts (the search backend's bulk path, not events)."""
        target = min(limit, self.plan.posts)
        done, _ = progress.get_stage(self.conn, self.key, "search")
        if done >= target:
            return
        asyncio.run(self._index_search(done, target))

    async def _index_search(self, done: int, target: int) -> None:
        from services.kit.db import create_engine
        from services.search.backends import open_backend
        from services.search.settings import SearchSettings
        from services.search.store import PostDoc, UserDoc

        settings = SearchSettings(database_url=self.rt.database_url, data_dir=self.rt.data_dir)
        engine = create_engine(self.rt.database_url, pool_size=2)
        backend = await open_backend(settings, engine)
        ids = self.user_ids
        try:
            users_done, _ = progress.get_stage(self.conn, self.key, "search-users")
            if users_done < self.plan.users:
                profiles = self.conn.execute(
                    "SELECT id, handle, display_name FROM koo_user.users WHERE id BETWEEN %s AND %s ORDER BY id",
                    (int(ids[0]), int(ids[-1])),
                )
                batch: list[UserDoc] = []
                for uid, handle, name in tqdm(
                    profiles, total=self.plan.users, desc="search users", disable=not self.bar
                ):
                    batch.append(UserDoc(user_id=int(uid), handle=str(handle), display_name=str(name)))
                    if len(batch) >= 2000:
                        await backend.index_users(batch)
                        batch = []
                if batch:
                    await backend.index_users(batch)
                with self.conn.transaction():
                    progress.set_stage(self.conn, self.key, "search-users", self.plan.users)
            with tqdm(total=target, initial=done, desc="search posts", disable=not self.bar) as bar:
                cursor = 2**63 - 1
                if done:
                    _, meta = progress.get_stage(self.conn, self.key, "search")
                    cursor = int(meta.get("before_id", cursor))
                while done < target:
                    rows = self.conn.execute(
                        "SELECT id, author_id, text, language, hashtags, created_at FROM koo_post.posts "
                        "WHERE id < %s AND author_id BETWEEN %s AND %s ORDER BY id DESC LIMIT %s",
                        (cursor, int(ids[0]), int(ids[-1]), min(2000, target - done)),
                    ).fetchall()
                    if not rows:
                        break
                    docs = [
                        PostDoc(
                            post_id=int(r[0]),
                            author_id=int(r[1]),
                            text=str(r[2]),
                            language=str(r[3]),
                            hashtags=tuple(r[4]),
                            created_at_ms=int(r[5].timestamp() * 1000),
                        )
                        for r in rows
                    ]
                    await backend.index_posts(docs)
                    cursor = int(rows[-1][0])
                    done += len(rows)
                    with self.conn.transaction():
                        progress.set_stage(self.conn, self.key, "search", done, {"before_id": cursor})
                    bar.update(len(rows))
            with self.conn.transaction():
                progress.set_stage(self.conn, self.key, "search", target)
        finally:
            await backend.close()
            await engine.dispose()

    # For the benchmark ------------------------------------------------------------------

    def write_user_file(self) -> None:
        from koo_cli.benchkit.population import write_population

        ids = self.user_ids
        active = self.active()
        write_population(
            self.rt.data_dir,
            "powerlaw",
            [(int(ids[u]), self.plan.handle(int(u))) for u in active],
        )

    def close(self) -> None:
        self.conn.close()
