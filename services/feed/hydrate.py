"""Pages of post ids -> posts as the reader sees them, from the read caches first.

A warm page costs two Redis round trips and no call to another service: post records
and the reader's likes (one pipeline), then the authors and, for re-koos, the originals
(another). Whatever the cache does not hold is asked of its owner in one call each, run
together (BatchGetPosts for records, BatchGetUsers for authors, ListLikedPostIds for a
reader whose likes are not cached), and written back for the next reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from koo.post.v1 import post_service_pb2 as post_pb
from services.feed.peers import FeedPeers
from services.kit.readcache import LIKED_CAP, ReadCache


@dataclass(slots=True)
class Hydrated:
    """Posts ready to show (author and the reader's flag filled), in no particular order."""

    posts: dict[int, post_pb.Post] = field(default_factory=dict)
    # Deleted, never existed, or a plain re-koo of a deleted post: drop from timelines.
    gone: set[int] = field(default_factory=set)
    # Re-koo id -> the original's author (the block rule applies to both authors).
    original_authors: dict[int, int] = field(default_factory=dict)


def is_plain_repost(post: post_pb.Post) -> bool:
    return bool(post.repost_of_id) and not post.text and not post.media


class Hydrator:
    def __init__(self, cache: ReadCache, peers: FeedPeers) -> None:
        self.cache = cache
        self.peers = peers

    async def posts(self, post_ids: Sequence[int], *, viewer_id: int | None) -> Hydrated:
        out = Hydrated()
        ids = list(dict.fromkeys(post_ids))
        if not ids:
            return out
        records, likes = await self.cache.read(ids, viewer_id=viewer_id)
        out.gone |= records.deleted
        from_source = set(records.missing)
        if viewer_id and not likes.missing:
            # Liked long ago (below the reader's likes floor): the post service knows.
            from_source |= {i for i in likes.unknown if i in records.posts}
        cached = {i: p for i, p in records.posts.items() if i not in from_source}

        # Second round trip: authors of the cached posts, and the originals of re-koos.
        authors, authors_missing, originals = await self.cache.authors_with_records(
            list({p.author.id for p in cached.values()}),
            list({p.repost_of_id for p in cached.values() if p.repost_of_id}),
        )
        from_source |= set(originals.missing)

        fetched, fetched_authors, (liked, complete) = await asyncio.gather(
            self.peers.posts(sorted(from_source)) if from_source else _empty_posts(),
            self.peers.authors(authors_missing) if authors_missing else _empty_authors(),
            self.peers.liked_ids(viewer_id, limit=LIKED_CAP) if viewer_id and likes.missing else _no_likes(),
        )
        authors.update(fetched_authors)
        if fetched:
            await self.cache.fill(fetched.values())
        if fetched_authors:
            await self.cache.fill_authors(fetched_authors.values())
        if viewer_id and likes.missing:
            floor = 0 if complete or not liked else liked[-1]
            await self.cache.fill_liked(viewer_id, liked=liked, floor=floor, generation=likes.generation)
            liked_set = set(liked)
            below = [i for i in cached if i < floor]
            for post_id in cached:
                likes.known[post_id] = post_id in liked_set
            if below:
                # A reader with more likes than the cache keeps: those flags from the source.
                fetched.update(await self.peers.posts(below))
                from_source |= set(below)

        for post_id in ids:
            post = fetched.get(post_id)
            if post is None and post_id in cached and post_id not in from_source:
                post = cached[post_id]
                author = authors.get(post.author.id)
                if author is not None:
                    post.author.CopyFrom(author)
                post.liked_by_me = bool(viewer_id) and likes.known.get(post_id, False)
            if post is None:
                out.gone.add(post_id)  # deleted, or the source does not have it either
                continue
            out.posts[post_id] = post
        await self._originals(out, known={**originals.posts, **fetched}, gone=originals.deleted)
        return out

    async def _originals(self, out: Hydrated, *, known: dict[int, post_pb.Post], gone: set[int]) -> None:
        """Which author each re-koo's original has; plain re-koos of deleted posts go."""
        late = list({p.repost_of_id for p in out.posts.values() if p.repost_of_id} - known.keys() - gone)
        if late:  # re-koos that came from the source: their originals from the cache, else the source
            records = await self.cache.records(late)
            known.update(records.posts)
            gone |= records.deleted
            if records.missing:
                more = await self.peers.posts(records.missing)
                await self.cache.fill(more.values())
                known.update(more)
        for post_id, post in list(out.posts.items()):
            if not post.repost_of_id:
                continue
            original = known.get(post.repost_of_id)
            if original is not None:
                out.original_authors[post_id] = original.author.id
            elif is_plain_repost(post):
                del out.posts[post_id]
                out.gone.add(post_id)


async def _empty_posts() -> dict[int, post_pb.Post]:
    return {}


async def _empty_authors() -> dict[int, post_pb.PostAuthor]:
    return {}


async def _no_likes() -> tuple[list[int], bool]:
    return [], True
