"""gRPC face of the feed service: proto <-> domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

from google.protobuf.timestamp_pb2 import Timestamp
from grpc.aio import ServicerContext

from koo.feed.v1 import feed_service_pb2 as pb
from koo.feed.v1 import feed_service_pb2_grpc as pb_grpc
from services.feed.domain import FeedDomain
from services.feed.notifications import NotificationHub, Notifications
from services.kit.context import current_caller, require_caller
from services.kit.paging import page_size


class FeedServicer(pb_grpc.FeedServiceServicer):
    def __init__(self, feed: FeedDomain, notifications: Notifications, hub: NotificationHub) -> None:
        self.feed = feed
        self.notifications = notifications
        self.hub = hub

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

    async def ListNotifications(
        self, request: pb.ListNotificationsRequest, context: ServicerContext
    ) -> pb.ListNotificationsResponse:
        caller = require_caller()
        page = await self.notifications.page(
            reader=caller.user_id, size=page_size(request.page_size), page_token=request.page_token
        )
        return pb.ListNotificationsResponse(notifications=page.notifications, next_page_token=page.next_page_token)

    async def GetUnreadNotificationCount(
        self, request: pb.GetUnreadNotificationCountRequest, context: ServicerContext
    ) -> pb.GetUnreadNotificationCountResponse:
        caller = require_caller()
        return pb.GetUnreadNotificationCountResponse(
            unread_count=await self.notifications.unread(reader=caller.user_id)
        )

    async def MarkNotificationsRead(
        self, request: pb.MarkNotificationsReadRequest, context: ServicerContext
    ) -> pb.MarkNotificationsReadResponse:
        caller = require_caller()
        unread = await self.notifications.mark_read(reader=caller.user_id, up_to_id=request.up_to_id)
        return pb.MarkNotificationsReadResponse(unread_count=unread)

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: ServicerContext
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        caller = require_caller()
        async for item in self.hub.stream(self.notifications, reader=caller.user_id, after_id=request.after_id):
            if item is None:
                yield pb.StreamNotificationsResponse()  # keep-alive: no notification
            else:
                entry, unread = item
                yield pb.StreamNotificationsResponse(notification=entry, unread_count=unread, event_id=entry.id)

    async def CreatePushDevice(
        self, request: pb.CreatePushDeviceRequest, context: ServicerContext
    ) -> pb.CreatePushDeviceResponse:
        caller = require_caller()
        device = await self.notifications.register_device(
            user_id=caller.user_id, platform=request.platform, token=request.token
        )
        created = Timestamp()
        created.FromDatetime(device.created_at)
        return pb.CreatePushDeviceResponse(
            device=pb.PushDevice(id=device.id, platform=device.platform, create_time=created)  # type: ignore[arg-type]
        )

    async def DeletePushDevice(
        self, request: pb.DeletePushDeviceRequest, context: ServicerContext
    ) -> pb.DeletePushDeviceResponse:
        caller = require_caller()
        await self.notifications.delete_device(user_id=caller.user_id, device_id=request.device_id)
        return pb.DeletePushDeviceResponse()
