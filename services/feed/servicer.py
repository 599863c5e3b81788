"""gRPC face of the feed service: proto <-> domain, nothing else."""

from __future__ import annotations

from grpc.aio import ServicerContext

from koo.feed.v1 import feed_service_pb2 as pb
from koo.feed.v1 import feed_service_pb2_grpc as pb_grpc
from services.feed.domain import FeedDomain
from services.kit.context import current_caller, require_caller
from services.kit.paging import page_size


class FeedServicer(pb_grpc.FeedServiceServicer):
    def __init__(self, feed: FeedDomain) -> None:
        self.feed = feed

    async def GetHomeFeed(self, request: pb.GetHomeFeedRequest, context: ServicerContext) -> pb.GetHomeFeedResponse:
        caller = require_caller()
        posts, token = await self.feed.home(
            user_id=caller.user_id,
            size=page_size(request.page_size),
            page_token=request.page_token,
            languages=list(request.language),
        )
        return pb.GetHomeFeedResponse(posts=posts, next_page_token=token)

    async def ListUserPosts(
        self, request: pb.ListUserPostsRequest, context: ServicerContext
    ) -> pb.ListUserPostsResponse:
        caller = current_caller()
        # The gateway turns `me` into the caller's id; 0 means the caller here too.
        user_id = request.user_id if request.user_id != 0 else require_caller().user_id
        posts, token = await self.feed.user_posts(
            user_id=user_id,
            viewer_id=caller.user_id if caller else None,
            size=page_size(request.page_size),
            page_token=request.page_token,
        )
        return pb.ListUserPostsResponse(posts=posts, next_page_token=token)

    async def ListTrendingHashtags(
        self, request: pb.ListTrendingHashtagsRequest, context: ServicerContext
    ) -> pb.ListTrendingHashtagsResponse:
        top = await self.feed.trending(language=request.language, limit=request.limit)
        return pb.ListTrendingHashtagsResponse(hashtags=[pb.HashtagCount(tag=t, post_count=n) for t, n in top])
