"""Calls to the post and user services: hydration and the viewer's blocks.

The index holds ids; what a reader sees comes fresh from the owners, one batch call
per page (never one per hit): counts and `liked_by_me`/`followed_by_me` are current,
and posts deleted since indexing are simply absent from BatchGetPosts.
"""

from __future__ import annotations

from collections.abc import Sequence

from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.kit.channels import Channels
from services.kit.upstream import upstream_errors


class Peers:
    """Stubs built once per process from the kit's channels (deadline + caller forwarded)."""

    def __init__(self, channels: Channels) -> None:
        self.posts = post_grpc.PostServiceStub(channels.get("post"))
        self.users = user_grpc.UserServiceStub(channels.get("user"))

    async def blocked_either_way(self, user_id: int) -> frozenset[int]:
        with upstream_errors("user"):
            graph = await self.users.GetSocialGraph(user_pb.GetSocialGraphRequest(user_id=user_id))
        return frozenset(graph.blocked_user_ids)

    async def posts_in_order(self, post_ids: Sequence[int]) -> list[post_pb.Post]:
        """The live posts among `post_ids`, in that order (deleted ones left out)."""
        if not post_ids:
            return []
        with upstream_errors("post"):
            reply = await self.posts.BatchGetPosts(post_pb.BatchGetPostsRequest(post_ids=list(post_ids)))
        by_id = {p.id: p for p in reply.posts}
        return [by_id[i] for i in post_ids if i in by_id]

    async def users_in_order(self, user_ids: Sequence[int]) -> list[user_pb.User]:
        if not user_ids:
            return []
        with upstream_errors("user"):
            reply = await self.users.BatchGetUsers(user_pb.BatchGetUsersRequest(user_ids=list(user_ids)))
        by_id = {u.id: u for u in reply.users}
        return [by_id[i] for i in user_ids if i in by_id]
