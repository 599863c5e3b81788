"""The feed's calls to the user and post services, in feed terms.

Reads are batched: one call per service per page (BatchGetPosts hydrates authors and
media itself), and the social graph is cached briefly in Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.feed.keys import FeedKeys
from services.kit.channels import Channels
from services.kit.upstream import upstream_errors

MAX_POST_BATCH = 500
MAX_USER_BATCH = 500
MAX_AUTHORS = 5000


@dataclass(frozen=True, slots=True)
class Followee:
    languages: tuple[str, ...]
    follower_count: int


@dataclass(frozen=True, slots=True)
class Graph:
    """Whom a reader follows (with languages), and whom they must not see."""

    user_id: int
    following: dict[int, Followee] = field(default_factory=dict)
    blocked: frozenset[int] = frozenset()
    muted: frozenset[int] = frozenset()

    def mutes_original(self, original_author: int | None) -> bool:
        """Whether a re-koo or quote stays hidden because the reader muted the original's author
        (blocks are the block rule's: services/kit/blocks.py)."""
        return bool(original_author) and original_author != self.user_id and original_author in self.muted

    def wants(self, author_id: int, language: str) -> bool:
        """Whether a post by `author_id` in `language` belongs in this reader's home feed."""
        if author_id == self.user_id:
            return True
        if author_id in self.blocked or author_id in self.muted:
            return False
        followee = self.following.get(author_id)
        if followee is None:
            return False
        return not followee.languages or language in followee.languages

    def to_json(self) -> str:
        return json.dumps(
            {
                "u": self.user_id,
                "f": [[k, list(v.languages), v.follower_count] for k, v in self.following.items()],
                "b": sorted(self.blocked),
                "m": sorted(self.muted),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Graph:
        data = json.loads(raw)
        return cls(
            user_id=int(data["u"]),
            following={int(k): Followee(tuple(langs), int(n)) for k, langs, n in data["f"]},
            blocked=frozenset(int(x) for x in data["b"]),
            muted=frozenset(int(x) for x in data["m"]),
        )


@dataclass(frozen=True, slots=True)
class Ref:
    """A post reference: enough to place and filter it without its text."""

    id: int
    author_id: int
    language: str
    reply_to_id: int = 0
    repost_of_id: int = 0


class FeedPeers:
    def __init__(self, channels: Channels, redis: Redis, *, keys: FeedKeys, graph_ttl: float) -> None:
        self._users = user_grpc.UserServiceStub(channels.get("user"))
        self._posts = post_grpc.PostServiceStub(channels.get("post"))
        self._redis = redis
        self._keys = keys
        self._graph_ttl = graph_ttl

    def graph_key(self, user_id: int) -> str:
        return self._keys.graph(user_id)

    @staticmethod
    def parse_graph(raw: bytes | str) -> Graph:
        return Graph.from_json(raw)

    async def graph(self, user_id: int, *, fresh: bool = False) -> Graph:
        """The reader's graph, from a short-lived cache unless `fresh`."""
        key = self._keys.graph(user_id)
        if not fresh and self._graph_ttl > 0:
            cached = await self._redis.get(key)
            if cached:
                return Graph.from_json(cached)
        with upstream_errors("user"):
            reply = await self._users.GetSocialGraph(user_pb.GetSocialGraphRequest(user_id=user_id))
        graph = Graph(
            user_id=user_id,
            following={f.user_id: Followee(tuple(f.languages), f.follower_count) for f in reply.following},
            blocked=frozenset(reply.blocked_user_ids),
            muted=frozenset(reply.muted_user_ids),
        )
        if self._graph_ttl > 0:
            await self._redis.set(key, graph.to_json(), px=int(self._graph_ttl * 1000))
        return graph

    async def forget_graphs(self, user_ids: Sequence[int]) -> None:
        if user_ids:
            await self._redis.delete(*(self._keys.graph(u) for u in user_ids))

    async def followers(self, author_id: int, *, page_size: int) -> AsyncIterator[list[tuple[int, tuple[str, ...]]]]:
        """The author's followers with their per-follow languages, a page at a time."""
        token = ""
        while True:
            with upstream_errors("user"):
                reply = await self._users.ListFollowerIds(
                    user_pb.ListFollowerIdsRequest(user_id=author_id, page_size=page_size, page_token=token)
                )
            if reply.followers:
                yield [(f.user_id, tuple(f.languages)) for f in reply.followers]
            token = reply.next_page_token
            if not token:
                return

    async def follower_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        wanted = list(dict.fromkeys(user_ids))
        counts: dict[int, int] = {}
        for start in range(0, len(wanted), MAX_USER_BATCH):
            with upstream_errors("user"):
                reply = await self._users.BatchGetUsers(
                    user_pb.BatchGetUsersRequest(
                        user_ids=wanted[start : start + MAX_USER_BATCH], skip_followed_by_me=True
                    )
                )
            counts.update({u.id: u.follower_count for u in reply.users})
        return counts

    async def user_summaries(self, user_ids: Sequence[int]) -> dict[int, post_pb.PostAuthor]:
        """Names to show beside notifications; users who are gone are left out."""
        wanted = list(dict.fromkeys(user_ids))[:MAX_USER_BATCH]
        if not wanted:
            return {}
        with upstream_errors("user"):
            reply = await self._users.BatchGetUsers(
                user_pb.BatchGetUsersRequest(user_ids=wanted, skip_followed_by_me=True)
            )
        return {
            u.id: post_pb.PostAuthor(id=u.id, handle=u.handle, display_name=u.display_name, verified=u.verified)
            for u in reply.users
        }

    async def author_refs(
        self, author_ids: Sequence[int], *, before_id: int = 0, limit: int = 800, exclude_replies: bool = True
    ) -> list[Ref]:
        """Newest posts of some authors, newest first (the post service's ListAuthorPosts)."""
        if not author_ids:
            return []
        # ListAuthorPosts takes up to 5,000 authors: a larger following is asked in parts.
        parts = [list(author_ids)[i : i + MAX_AUTHORS] for i in range(0, len(author_ids), MAX_AUTHORS)]
        with upstream_errors("post"):
            replies = await asyncio.gather(
                *(
                    self._posts.ListAuthorPosts(
                        post_pb.ListAuthorPostsRequest(
                            author_ids=part, before_id=before_id, limit=limit, exclude_replies=exclude_replies
                        )
                    )
                    for part in parts
                )
            )
        refs = [Ref(r.id, r.author_id, r.language, r.reply_to_id, r.repost_of_id) for rep in replies for r in rep.posts]
        if len(parts) > 1:
            refs = sorted(refs, key=lambda r: r.id, reverse=True)[:limit]
        return refs

    async def posts(self, post_ids: Sequence[int]) -> dict[int, post_pb.Post]:
        """Hydrated posts (authors and media included) in one call; gone ones are left out."""
        if not post_ids:
            return {}
        with upstream_errors("post"):
            reply = await self._posts.BatchGetPosts(
                post_pb.BatchGetPostsRequest(post_ids=list(post_ids)[:MAX_POST_BATCH])
            )
        return {p.id: p for p in reply.posts}

    async def authors(self, user_ids: Sequence[int]) -> dict[int, post_pb.PostAuthor]:
        """Author summaries (BatchGetUsers without the reader's follow flags)."""
        wanted = list(dict.fromkeys(user_ids))
        found: dict[int, post_pb.PostAuthor] = {}
        for start in range(0, len(wanted), MAX_USER_BATCH):
            with upstream_errors("user"):
                reply = await self._users.BatchGetUsers(
                    user_pb.BatchGetUsersRequest(
                        user_ids=wanted[start : start + MAX_USER_BATCH], skip_followed_by_me=True
                    )
                )
            for u in reply.users:
                found[u.id] = post_pb.PostAuthor(
                    id=u.id, handle=u.handle, display_name=u.display_name, verified=u.verified
                )
        return found

    async def liked_ids(self, user_id: int, *, limit: int) -> tuple[list[int], bool]:
        """The reader's likes, newest post first, and whether that is all of them."""
        with upstream_errors("post"):
            reply = await self._posts.ListLikedPostIds(post_pb.ListLikedPostIdsRequest(user_id=user_id, limit=limit))
        return list(reply.post_ids), reply.complete
