"""gRPC face of the post service: proto <-> domain, nothing else."""

from __future__ import annotations

from grpc.aio import ServicerContext

from koo.post.v1 import post_service_pb2 as pb
from koo.post.v1 import post_service_pb2_grpc as pb_grpc
from services.kit.context import current_caller, require_caller
from services.kit.errors import InvalidArgument
from services.kit.paging import page_size
from services.post.cached import CachedReads
from services.post.domain import Draft, PostDomain
from services.post.moderation import PostModeration
from services.post.records import post_message as post_pb


def _viewer() -> int | None:
    caller = current_caller()
    return caller.user_id if caller else None


class PostServicer(pb_grpc.PostServiceServicer):
    def __init__(self, domain: PostDomain, reads: CachedReads, moderation: PostModeration) -> None:
        self.domain = domain
        self.reads = reads
        self.moderation = moderation

    async def CreatePost(self, request: pb.CreatePostRequest, context: ServicerContext) -> pb.CreatePostResponse:
        caller = require_caller()
        view = await self.domain.create(
            author_id=caller.user_id,
            draft=Draft(
                text=request.text,
                language=request.language,
                media_ids=list(request.media_ids),
                reply_to_id=request.reply_to_id,
                repost_of_id=request.repost_of_id,
                request_id=request.request_id,
            ),
        )
        return pb.CreatePostResponse(post=post_pb(view))

    async def GetPost(self, request: pb.GetPostRequest, context: ServicerContext) -> pb.GetPostResponse:
        return pb.GetPostResponse(post=await self.reads.get(post_id=request.post_id, viewer_id=_viewer()))

    async def BatchGetPosts(
        self, request: pb.BatchGetPostsRequest, context: ServicerContext
    ) -> pb.BatchGetPostsResponse:
        views = await self.domain.batch_get(post_ids=list(request.post_ids), viewer_id=_viewer())
        return pb.BatchGetPostsResponse(posts=[post_pb(v) for v in views])

    async def DeletePost(self, request: pb.DeletePostRequest, context: ServicerContext) -> pb.DeletePostResponse:
        await self.domain.delete(post_id=request.post_id, caller_id=require_caller().user_id)
        return pb.DeletePostResponse()

    async def LikePost(self, request: pb.LikePostRequest, context: ServicerContext) -> pb.LikePostResponse:
        view = await self.domain.like(post_id=request.post_id, user_id=require_caller().user_id, on=True)
        return pb.LikePostResponse(post=post_pb(view))

    async def UnlikePost(self, request: pb.UnlikePostRequest, context: ServicerContext) -> pb.UnlikePostResponse:
        view = await self.domain.like(post_id=request.post_id, user_id=require_caller().user_id, on=False)
        return pb.UnlikePostResponse(post=post_pb(view))

    async def UndoRepost(self, request: pb.UndoRepostRequest, context: ServicerContext) -> pb.UndoRepostResponse:
        view = await self.domain.undo_repost(post_id=request.post_id, caller_id=require_caller().user_id)
        return pb.UndoRepostResponse(post=post_pb(view))

    async def ListReplies(self, request: pb.ListRepliesRequest, context: ServicerContext) -> pb.ListRepliesResponse:
        views, token = await self.domain.list_replies(
            post_id=request.post_id,
            size=page_size(request.page_size),
            page_token=request.page_token,
            viewer_id=_viewer(),
        )
        return pb.ListRepliesResponse(posts=[post_pb(v) for v in views], next_page_token=token)

    async def ListAuthorPosts(
        self, request: pb.ListAuthorPostsRequest, context: ServicerContext
    ) -> pb.ListAuthorPostsResponse:
        refs = await self.domain.author_posts(
            author_ids=list(request.author_ids),
            before_id=request.before_id,
            limit=request.limit,
            exclude_replies=request.exclude_replies,
        )
        return pb.ListAuthorPostsResponse(
            posts=[
                pb.PostRef(
                    id=r.id,
                    author_id=r.author_id,
                    language=r.language,
                    repost_of_id=r.repost_of_id,
                    reply_to_id=r.reply_to_id,
                )
                for r in refs
            ]
        )

    async def ListLikedPostIds(
        self, request: pb.ListLikedPostIdsRequest, context: ServicerContext
    ) -> pb.ListLikedPostIdsResponse:
        ids, complete = await self.domain.liked_post_ids(
            user_id=request.user_id, caller_id=require_caller().user_id, limit=request.limit
        )
        return pb.ListLikedPostIdsResponse(post_ids=ids, complete=complete)

    async def SetPostRemoved(
        self, request: pb.SetPostRemovedRequest, context: ServicerContext
    ) -> pb.SetPostRemovedResponse:
        if request.post_id <= 0:
            raise InvalidArgument("post_id", message="post_id must be a post's id")
        author = await self.moderation.set_removed(post_id=request.post_id, removed=request.removed)
        return pb.SetPostRemovedResponse(author_id=author)
