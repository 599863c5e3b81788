"""Feed rules: home timelines (hybrid fanout), author pages, trends. Knows nothing of gRPC.

A home page merges two sources newest first: the reader's timeline in Redis (posts fanned
out on write) and the author timelines of the celebrities they follow (merged at read).
Candidates are hydrated from the read caches (hydrate.py; the post and user services
only for what the caches miss) and filtered by the reader's graph (blocks and mutes
either way, also of a re-koo's original author; per-follow languages) and the requested
languages. Paging is by post id (`before`), so new posts never shift a page. Warm, a home
or author page touches only Redis: no SQL, no call to another service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from koo.post.v1 import post_service_pb2 as post_pb
from services.feed.author_timelines import AuthorTimelines
from services.feed.hydrate import Hydrator
from services.feed.keys import FeedKeys
from services.feed.peers import FeedPeers, Graph, Ref
from services.feed.settings import FeedSettings
from services.feed.timeline import READY, Timelines
from services.feed.trends import Trends
from services.kit.blocks import post_hidden
from services.kit.errors import ErrorReason, InvalidArgument, PermissionDenied
from services.kit.paging import decode_token, encode_token
from services.kit.readcache import CacheKeys, ReadCache
from services.kit.text import check_languages

log = logging.getLogger("koo.feed")

# A page scans at most this many windows of candidates before answering (short) with a
# token: the common case is one window, so one BatchGetPosts per page.
MAX_ROUNDS = 3
MAX_WINDOW = 300
# Readers merge authors a little below the fanout threshold too, so an author whose
# follower count dips under it does not lose the posts that were never fanned out.
CELEBRITY_MERGE_BAND = 0.9
DEFAULT_TRENDS = 10
MAX_TRENDS = 50


@dataclass(frozen=True, slots=True)
class Source:
    """Candidates from one source, newest first, complete down to `floor` (0: complete)."""

    ids: list[int]
    floor: int


class FeedDomain:
    def __init__(
        self, settings: FeedSettings, *, redis: Redis, peers: FeedPeers, keys: FeedKeys, cache: ReadCache | None = None
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.peers = peers
        self.keys = keys
        self.cache = cache or ReadCache(redis, keys=CacheKeys(keys.prefix))
        self.hydrator = Hydrator(self.cache, peers)
        self.timelines = Timelines(
            redis,
            keys=keys,
            cap=settings.feed_timeline_cap,
            active_seconds=settings.active_window_seconds,
            per_key=settings.feed_redis_cluster,
        )
        self.authors = AuthorTimelines(
            redis,
            keys=keys,
            peers=peers,
            cap=settings.feed_author_timeline_cap,
            ttl_seconds=int(settings.feed_author_timeline_hours * 3600),
        )
        self.trends = Trends(
            redis,
            keys=keys,
            window_hours=settings.feed_trends_window_hours,
            cache_seconds=settings.feed_trends_cache_seconds,
        )
        self.threshold = settings.feed_celebrity_threshold

    def is_celebrity(self, follower_count: int) -> bool:
        """Fanout skips these authors."""
        return follower_count > self.threshold

    def _merged_at_read(self, follower_count: int) -> bool:
        return follower_count > int(self.threshold * CELEBRITY_MERGE_BAND)

    # Rebuild ----------------------------------------------------------------------------

    async def rebuild(self, user_id: int, graph: Graph) -> None:
        """Rebuild a timeline from the source of truth (PostgreSQL via the post service)."""
        await self.timelines.begin_rebuild(user_id)
        authors = [user_id] + [
            a for a, f in graph.following.items() if not self.is_celebrity(f.follower_count) and a not in graph.blocked
        ]
        refs = await self.peers.author_refs(authors, limit=self.settings.feed_timeline_cap, exclude_replies=True)
        # Mutes are left to the read filter: unmuting brings the posts back.
        ids = [r.id for r in refs if r.author_id == user_id or _follow_allows(graph, r)]
        await self.timelines.finish_rebuild(user_id, ids)

    # Home -------------------------------------------------------------------------------

    async def home(
        self, *, user_id: int, size: int, page_token: str, languages: Sequence[str]
    ) -> tuple[list[post_pb.Post], str]:
        wanted = frozenset(check_languages(languages, field="language"))
        cursor = decode_token(page_token, kind="home")
        if cursor is not None and cursor.get("u") != user_id:
            raise InvalidArgument("page_token", message="page_token belongs to another feed")
        before: int | None = _cursor_id(cursor, "b") if cursor else None
        window = min(max(2 * size, 20) + 10, MAX_WINDOW)
        graph, first = await self._open_home(user_id, before, window)
        timeline: Source | None = first

        page: list[post_pb.Post] = []
        exhausted = False
        for _ in range(MAX_ROUNDS):
            if timeline is None:
                timeline = await self._timeline_source(user_id, before, window)
            celebrities = await self._celebrity_source(graph, before, window)
            floor = max(timeline.floor, celebrities.floor)
            union = sorted(set(timeline.ids) | set(celebrities.ids), reverse=True)
            candidates = [c for c in union if c >= floor][:window]
            sources_done = floor == 0 and len(union) <= window
            if not candidates:
                exhausted = sources_done
                break
            hydrated = await self.hydrator.posts(candidates, viewer_id=user_id)
            gone = [c for c in timeline.ids if c in hydrated.gone]
            if gone:
                # Deleted (or re-koo of a deleted post): self-heal the timeline.
                await self.timelines.remove([user_id], gone)
            scanned = 0
            for post_id in candidates:
                before = post_id
                scanned += 1
                post = hydrated.posts.get(post_id)
                if post is not None and _visible(post, graph, wanted, hydrated.original_authors.get(post_id)):
                    page.append(post)
                    if len(page) == size:
                        break
            timeline = None
            if len(page) == size or sources_done:
                exhausted = sources_done and scanned == len(candidates)
                break
        token = "" if exhausted or before is None else encode_token({"k": "home", "u": user_id, "b": before})
        return page, token

    async def _open_home(self, user_id: int, before: int | None, window: int) -> tuple[Graph, Source]:
        """The reader's graph and the first window of their timeline: one Redis round trip
        when both are cached (the timeline's activity window restarts: they are reading)."""
        cached_graph, state, members = await self.timelines.open(
            user_id, graph_key=self.peers.graph_key(user_id), before=before, count=window
        )
        graph = self.peers.parse_graph(cached_graph) if cached_graph else await self.peers.graph(user_id, fresh=True)
        if state != READY:
            await self.rebuild(user_id, graph)
            return graph, await self._timeline_source(user_id, before, window)
        if members is None:
            return graph, await self._timeline_source(user_id, before, window)
        return graph, Source(members, members[-1] if len(members) == window else 0)

    async def _timeline_source(self, user_id: int, before: int | None, window: int) -> Source:
        ids = await self.timelines.below(user_id, before, window)
        return Source(ids, ids[-1] if len(ids) == window else 0)

    async def _celebrity_source(self, graph: Graph, before: int | None, window: int) -> Source:
        """The newest posts of the celebrities the reader follows, from their author timelines."""
        celebrities = [
            a
            for a, f in graph.following.items()
            if self._merged_at_read(f.follower_count) and a not in graph.blocked and a not in graph.muted
        ]
        if not celebrities:
            return Source([], 0)
        slices = await self.authors.below(celebrities, before, window)
        floor = max((s.floor for s in slices.values()), default=0)
        ids = sorted({i for s in slices.values() for i in s.ids if i >= floor}, reverse=True)
        if len(ids) > window:
            ids = ids[:window]
            floor = max(floor, ids[-1])
        return Source(ids, floor)

    # Author pages -----------------------------------------------------------------------

    async def user_posts(
        self, *, user_id: int, viewer_id: int | None, size: int, page_token: str
    ) -> tuple[list[post_pb.Post], str]:
        if user_id <= 0:
            raise InvalidArgument("user_id", message="user_id must be a user's id (or `me`)")
        cursor = decode_token(page_token, kind="user-posts")
        if cursor is not None and cursor.get("u") != user_id:
            raise InvalidArgument("page_token", message="page_token belongs to another list")
        before = _cursor_id(cursor, "b") if cursor else None
        graph: Graph | None = None
        if viewer_id is not None and viewer_id != user_id:
            viewer_graph, slices = await asyncio.gather(
                self.peers.graph(viewer_id), self.authors.below([user_id], before, size + 1)
            )
            graph = viewer_graph
            if user_id in viewer_graph.blocked:
                raise PermissionDenied("you cannot see this user's posts", reason=ErrorReason.BLOCKED)
        else:
            slices = await self.authors.below([user_id], before, size + 1)
        ids = slices[user_id].ids
        more = len(ids) > size
        ids = ids[:size]
        hydrated = await self.hydrator.posts(ids, viewer_id=viewer_id)
        if hydrated.gone:
            await self.authors.store.remove([user_id], sorted(hydrated.gone))
        token = encode_token({"k": "user-posts", "u": user_id, "b": ids[-1]}) if more else ""
        posts = [
            hydrated.posts[i]
            for i in ids
            if i in hydrated.posts
            and (graph is None or _shown_to(graph, hydrated.posts[i], hydrated.original_authors.get(i)))
        ]
        return posts, token

    # Trends -----------------------------------------------------------------------------

    async def trending(self, *, language: str, limit: int) -> list[tuple[str, int]]:
        if language:
            check_languages([language], field="language")
        if limit < 0:
            raise InvalidArgument("limit", message="limit must not be negative")
        return await self.trends.top(language=language, limit=min(limit or DEFAULT_TRENDS, MAX_TRENDS))


def _cursor_id(cursor: dict[str, object], key: str) -> int:
    value = cursor.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument("page_token", message="page_token is not a token this list issued")
    return value


def _follow_allows(graph: Graph, ref: Ref) -> bool:
    """The reader follows the author in this language (mutes aside)."""
    if ref.author_id in graph.blocked:
        return False
    followee = graph.following.get(ref.author_id)
    return followee is not None and (not followee.languages or ref.language in followee.languages)


def _visible(post: post_pb.Post, graph: Graph, wanted: frozenset[str], original_author: int | None) -> bool:
    if wanted and post.language not in wanted:
        return False
    return _shown_to(graph, post, original_author) and graph.wants(post.author.id, post.language)


def _shown_to(graph: Graph, post: post_pb.Post, original_author: int | None) -> bool:
    """The block rule (kit/blocks.py, the one every service applies), then mutes of a
    re-koo's or quote's original author."""
    original = original_author or post.repost_of_author_id  # the post record names it too
    if post_hidden(graph.blocked, author_id=post.author.id, repost_of_author_id=original):
        return False
    return not graph.mutes_original(original)
