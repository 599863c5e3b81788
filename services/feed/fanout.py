"""The feed worker's event handlers: fanout on write (also into the author's own
timeline), follow/unfollow/block, trends.

Every effect is idempotent, so at-least-once delivery gives exactly-once results: adding
a post id to a sorted set twice keeps one entry, removing twice removes it once, and
trend increments are applied once per event id (see trends.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from koo.events.v1 import events_pb2 as events_pb
from services.feed.domain import FeedDomain
from services.kit.events import Event

log = logging.getLogger("koo.feed.fanout")


PostEvent = events_pb.PostCreated | events_pb.PostDeleted


def _post_events(events: list[Event]) -> list[PostEvent]:
    return [e.payload for e in events if isinstance(e.payload, PostEvent)]


class Fanout:
    def __init__(self, feed: FeedDomain, *, batch: int, follower_page: int) -> None:
        self.feed = feed
        self.batch = batch
        self.follower_page = follower_page

    # Topic "post" ---------------------------------------------------------------------

    async def handle_post_events(self, events: list[Event]) -> None:
        posts = _post_events(events)
        authors = [p.author_id for p in posts if not p.reply_to_id]

        async def own_effects() -> None:
            for post in posts:
                await self._own_effects(post)

        # The follower counts (celebrity or not) are looked up while trends and the
        # author's own timeline are written: fewer round trips on the fanout's critical path.
        counts, _ = await asyncio.gather(self._follower_counts(authors), own_effects())
        for post in posts:
            if post.reply_to_id:
                continue  # home timelines show top-level posts and re-koos
            if isinstance(post, events_pb.PostCreated):
                await self.post_created(post, counts)
            else:
                await self.post_deleted(post, counts)

    async def _follower_counts(self, authors: list[int]) -> dict[int, int]:
        return await self.feed.peers.follower_counts(authors) if authors else {}

    async def _own_effects(self, post: PostEvent) -> None:
        """Trends, and the author's own timeline."""
        created = isinstance(post, events_pb.PostCreated)
        await self.feed.trends.count(
            post_id=post.post_id, language=post.language, hashtags=list(post.hashtags), delta=1 if created else -1
        )
        if post.reply_to_id:
            return
        if created:
            await self.feed.timelines.fan_out([post.author_id], post.post_id)
            await self.feed.authors.store.fan_out([post.author_id], post.post_id)
        else:
            await self.feed.timelines.remove([post.author_id], [post.post_id])
            await self.feed.authors.store.remove([post.author_id], [post.post_id])

    async def post_created(self, post: events_pb.PostCreated, counts: dict[int, int]) -> None:
        """Fan a top-level post or re-koo out to the author's active followers."""
        post_id, author_id, language = post.post_id, post.author_id, post.language
        if self.feed.is_celebrity(counts.get(author_id, 0)):
            return  # readers merge it from the author's timeline
        async for page in self._prefetched(author_id):
            targets = [uid for uid, langs in page if not langs or language in langs]
            for start in range(0, len(targets), self.batch):
                await self.feed.timelines.fan_out(targets[start : start + self.batch], post_id)

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

    async def post_deleted(self, post: events_pb.PostDeleted, counts: dict[int, int]) -> None:
        """Take a deleted post out of every timeline it was fanned into."""
        post_id, author_id = post.post_id, post.author_id
        if self.feed.is_celebrity(counts.get(author_id, 0)):
            return  # never fanned out; reads drop what BatchGetPosts no longer returns
        async for page in self._prefetched(author_id):
            ids = [uid for uid, _ in page]
            for start in range(0, len(ids), self.batch):
                await self.feed.timelines.remove(ids[start : start + self.batch], [post_id])

    # Topic "user" ---------------------------------------------------------------------

    async def handle_user_events(self, events: list[Event]) -> None:
        for event in events:
            match event.payload:
                case events_pb.UserCreated(user=user):
                    await self.feed.timelines.start_empty(user.user_id)
                case events_pb.FollowCreated(follow=follow) | events_pb.FollowUpdated(follow=follow):
                    await self.followed(follow.follower_id, follow.followee_id, list(follow.languages))
                case events_pb.FollowDeleted(follow=follow):
                    await self.feed.peers.forget_graphs([follow.follower_id])
                    await self._remove_author(follow.follower_id, follow.followee_id)
                case events_pb.BlockCreated(block=block):
                    await self.feed.peers.forget_graphs([block.blocker_id, block.blocked_id])
                    await self._remove_author(block.blocker_id, block.blocked_id)
                    await self._remove_author(block.blocked_id, block.blocker_id)
                case events_pb.BlockDeleted(block=block):
                    await self.feed.peers.forget_graphs([block.blocker_id, block.blocked_id])
                case events_pb.MuteCreated(mute=mute) | events_pb.MuteDeleted(mute=mute):
                    await self.feed.peers.forget_graphs([mute.muter_id, mute.muted_id])

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
        await self.feed.timelines.backfill(follower, keep)
        await self.feed.timelines.remove([follower], drop)
        await self.feed.timelines.state(follower, touch=True)

    async def _remove_author(self, reader: int, author: int) -> None:
        refs = await self.feed.peers.author_refs([author], limit=self.feed.settings.feed_timeline_cap)
        await self.feed.timelines.remove([reader], [r.id for r in refs])
