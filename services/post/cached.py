"""The post service's side of the read caches (services/kit/readcache.py).

Writes: each committed change goes to the cache at once (a new post's record, a deleted
marker, a like), so the writer's next read already sees it; the outbox events repeat the
same effects from the feed worker, which repairs whatever a crash here left out.
Reads: GetPost answers from the cache (record, author, the reader's likes) without SQL
when it can, and fills it when it cannot.
"""

from __future__ import annotations

import contextlib
import logging

from redis.exceptions import RedisError

from koo.post.v1 import post_service_pb2 as pb
from services.kit.blocks import post_hidden
from services.kit.errors import ErrorReason, NotFound
from services.kit.readcache import LIKED_CAP, ReadCache
from services.post.domain import PostDomain, PostView, check_post_id
from services.post.records import post_message
from services.post.store import PostRow

log = logging.getLogger("koo.post.cache")


class CacheWriter:
    """The domain's `Changes`: best effort, a Redis failure never fails the write."""

    def __init__(self, cache: ReadCache) -> None:
        self.cache = cache

    async def created(self, view: PostView) -> None:
        try:
            await self.cache.created(post_message(view))
        except RedisError as exc:
            log.warning("read cache not written for new post %s: %s", view.row.id, exc)

    async def deleted(self, row: PostRow) -> None:
        try:
            await self.cache.deleted(row.id, parents=[row.reply_to_id, row.repost_of_id])
        except RedisError as exc:
            log.warning("read cache not told of deleted post %s: %s", row.id, exc)

    async def restored(self, post_id: int) -> None:
        try:
            await self.cache.restored(post_id)
        except RedisError as exc:
            log.warning("read cache not told of restored post %s: %s", post_id, exc)

    async def liked(self, *, user_id: int, post_id: int, on: bool) -> None:
        try:
            await self.cache.liked(user_id=user_id, post_id=post_id, on=on)
        except RedisError as exc:
            log.warning("read cache not told of a like of post %s: %s", post_id, exc)


class CachedReads:
    """GetPost from the read cache, PostgreSQL when the cache cannot answer."""

    def __init__(self, domain: PostDomain, cache: ReadCache | None) -> None:
        self.domain = domain
        self.cache = cache

    async def get(self, *, post_id: int, viewer_id: int | None) -> pb.Post:
        check_post_id(post_id)
        if self.cache is not None:
            try:
                cached = await self._from_cache(post_id, viewer_id)
            except RedisError as exc:
                log.warning("read cache unavailable, reading PostgreSQL: %s", exc)
                cached = None
            if cached is not None:
                await self._check_blocks(cached, viewer_id)
                return cached
        post = post_message(await self.domain.get(post_id=post_id, viewer_id=viewer_id))
        if self.cache is not None:
            with contextlib.suppress(RedisError):
                await self.cache.fill([post])
        return post

    async def _check_blocks(self, post: pb.Post, viewer_id: int | None) -> None:
        """The block rule on a cached post (the PostgreSQL path applies it in the domain)."""
        if viewer_id is None or post.author.id == viewer_id:
            return
        blocked = await self.domain.block_set(viewer_id)
        if post_hidden(blocked, author_id=post.author.id, repost_of_author_id=post.repost_of_author_id):
            raise NotFound(f"no post has the id {post.id}", reason=ErrorReason.POST_NOT_FOUND)

    async def _from_cache(self, post_id: int, viewer_id: int | None) -> pb.Post | None:
        """The post from the cache alone, or None when any part of it is not there."""
        assert self.cache is not None
        records, likes = await self.cache.read([post_id], viewer_id=viewer_id)
        if post_id in records.deleted:
            raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
        post = records.posts.get(post_id)
        if post is None:
            return None
        checks = [post.repost_of_id] if post.repost_of_id and not post.text and not post.media else []
        original = await self.cache.records(checks)
        if original.deleted:
            # A plain re-koo shows its original: gone with it.
            raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
        if original.missing:
            return None
        authors, missing = await self.cache.authors([post.author.id])
        if missing:
            return None
        if viewer_id and likes.missing:
            liked, complete = await self.domain.liked_post_ids(user_id=viewer_id, caller_id=viewer_id, limit=LIKED_CAP)
            floor = 0 if complete else liked[-1]
            await self.cache.fill_liked(viewer_id, liked=liked, floor=floor, generation=likes.generation)
            if post_id < floor:
                return None
            likes.known[post_id] = post_id in liked
        elif viewer_id and post_id not in likes.known:
            return None
        post.author.CopyFrom(authors[post.author.id])
        post.liked_by_me = likes.known.get(post_id, False)
        return post
