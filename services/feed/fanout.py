"""The feed worker's event handlers: fanout on write, follow/unfollow/block, trends.

Every effect is idempotent, so at-least-once delivery gives exactly-once results: adding
a post id to a sorted set twice keeps one entry, removing twice removes it once, and
trend increments are applied once per event id (see trends.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from services.feed.domain import Feed
from services.kit.events import Event

log = logging.getLogger("koo.feed.fanout")


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key) or 0
    return int(value)


class Fanout:
    def __init__(self, feed: Feed, *, batch: int, follower_page: int) -> None:
        self.feed = feed
        self.batch = batch
        self.follower_page = follower_page

    # Topic "post" ---------------------------------------------------------------------

    async def handle_post_events(self, events: list[Event]) -> None:
        authors = [
            _int(e.data, "author_id")
            for e in events
            if e.event_type in ("post.created", "post.deleted") and not e.data.get("reply_to_id")
        ]

        async def own_effects() -> None:
            for event in events:
                await self._own_effects(event)

        # The follower counts (celebrity or not) are looked up while trends and the
        # author's own timeline are written: fewer round trips on the fanout's critical path.
        counts, _ = await asyncio.gather(self._follower_counts(authors), own_effects())
        for event in events:
            if event.data.get("reply_to_id"):
                continue  # home timelines show top-level posts and re-koos
            if event.event_type == "post.created":
                await self.post_created(event, counts)
            elif event.event_type == "post.deleted":
                await self.post_deleted(event, counts)

    async def _follower_counts(self, authors: list[int]) -> dict[int, int]:
        return await self.feed.peers.follower_counts(authors) if authors else {}

    async def _own_effects(self, event: Event) -> None:
        """Trends, and the author's own timeline."""
        data = event.data
        if event.event_type not in ("post.created", "post.deleted"):
            return
        created = event.event_type == "post.created"
        post_id, author_id = _int(data, "post_id"), _int(data, "author_id")
        await self.feed.trends.count(
            post_id=post_id,
            language=str(data.get("language") or ""),
            hashtags=data.get("hashtags") or [],
            delta=1 if created else -1,
        )
        if data.get("reply_to_id"):
            return
        if created:
            await self.feed.timelines.push([author_id], post_id)
        else:
            await self.feed.timelines.drop(author_id, [post_id])

    async def post_created(self, event: Event, counts: dict[int, int]) -> None:
        """Fan a top-level post or re-koo out to the author's active followers."""
        data = event.data
        post_id, author_id = _int(data, "post_id"), _int(data, "author_id")
        language = str(data.get("language") or "")
        if self.feed.is_celebrity(counts.get(author_id, 0)):
            await self.feed.forget_celebrity(author_id)  # readers merge it from the source
            return
        async for page in self._prefetched(author_id):
            targets = [uid for uid, langs in page if not langs or language in langs]
            for start in range(0, len(targets), self.batch):
                await self.feed.timelines.push(targets[start : start + self.batch], post_id)

    async def _prefetched(self, author_id: int) -> AsyncIterator[list[tuple[int, tuple[str, ...]]]]:
        """The author's follower pages, the next one fetched while the current one is written."""
        pages = aiter(self.feed.peers.followers(author_id, page_size=self.follower_page))
        upcoming = asyncio.ensure_future(anext(pages, None))
        try:
            while (page := await upcoming) is not None:
                upcoming = asyncio.ensure_future(anext(pages, None))
                yield page
        finally:
            upcoming.cancel()

    async def post_deleted(self, event: Event, counts: dict[int, int]) -> None:
        """Take a deleted post out of every timeline it was fanned into."""
        data = event.data
        post_id, author_id = _int(data, "post_id"), _int(data, "author_id")
        await self.feed.forget_celebrity(author_id)
        if self.feed.is_celebrity(counts.get(author_id, 0)):
            return  # never fanned out; reads drop what BatchGetPosts no longer returns
        async for page in self._prefetched(author_id):
            ids = [uid for uid, _ in page]
            for start in range(0, len(ids), self.batch):
                await self.feed.timelines.remove(ids[start : start + self.batch], [post_id])

    # Topic "user" ---------------------------------------------------------------------

    async def handle_user_events(self, events: list[Event]) -> None:
        for event in events:
            data = event.data
            kind = event.event_type
            if kind == "user.created":
                await self.feed.timelines.start_empty(_int(data, "user_id"))
            elif kind in ("follow.created", "follow.updated"):
                await self.followed(_int(data, "follower_id"), _int(data, "followee_id"), data.get("languages") or [])
            elif kind == "follow.deleted":
                follower, followee = _int(data, "follower_id"), _int(data, "followee_id")
                await self.feed.peers.forget_graphs([follower])
                await self._remove_author(follower, followee)
            elif kind == "block.created":
                blocker, blocked = _int(data, "blocker_id"), _int(data, "blocked_id")
                await self.feed.peers.forget_graphs([blocker, blocked])
                await self._remove_author(blocker, blocked)
                await self._remove_author(blocked, blocker)
            elif kind in ("block.deleted", "mute.created", "mute.deleted"):
                users = [_int(data, k) for k in ("blocker_id", "blocked_id", "muter_id", "muted_id") if k in data]
                await self.feed.peers.forget_graphs(users)

    async def followed(self, follower: int, followee: int, languages: Sequence[str]) -> None:
        """Backfill the followee's recent posts (in the follow's languages)."""
        await self.feed.peers.forget_graphs([follower])
        if await self.feed.timelines.state(follower) is None:
            # Following counts as activity: build the whole timeline now.
            graph = await self.feed.peers.graph(follower, fresh=True)
            await self.feed.rebuild(follower, graph)
            return
        counts = await self.feed.peers.follower_counts([followee])
        if self.feed.is_celebrity(counts.get(followee, 0)):
            return  # merged at read time
        refs = await self.feed.peers.author_refs([followee], limit=self.feed.settings.feed_timeline_cap)
        keep = [r.id for r in refs if not languages or r.language in languages]
        drop = [r.id for r in refs if languages and r.language not in languages]
        await self.feed.timelines.add(follower, keep)
        await self.feed.timelines.remove([follower], drop)
        await self.feed.timelines.state(follower, touch=True)

    async def _remove_author(self, reader: int, author: int) -> None:
        refs = await self.feed.peers.author_refs([author], limit=self.feed.settings.feed_timeline_cap)
        await self.feed.timelines.remove([reader], [r.id for r in refs])
