"""The user service's calls to the post service (moderation), in domain terms."""

from __future__ import annotations

import grpc

from koo.errors.v1.error_reason_pb2 import ErrorReason
from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from services.kit.channels import Channels
from services.kit.errors import FailedPrecondition, NotFound
from services.kit.upstream import upstream_errors


class PostPeer:
    """What moderation asks of the post service (services.user.trust_safety.PostModeration)."""

    def __init__(self, channels: Channels) -> None:
        self._posts = post_grpc.PostServiceStub(channels.get("post"))

    async def author_of(self, post_id: int) -> int:
        with upstream_errors("post"):
            reply = await self._posts.BatchGetPosts(post_pb.BatchGetPostsRequest(post_ids=[post_id]))
        if not reply.posts:
            raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
        return int(reply.posts[0].author.id)

    async def set_removed(self, post_id: int, *, removed: bool) -> int:
        try:
            with upstream_errors("post"):
                reply = await self._posts.SetPostRemoved(
                    post_pb.SetPostRemovedRequest(post_id=post_id, removed=removed)
                )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                raise FailedPrecondition(
                    exc.details() or "the post cannot change so", reason=ErrorReason.NOT_REMOVED
                ) from exc
            raise
        return int(reply.author_id)
