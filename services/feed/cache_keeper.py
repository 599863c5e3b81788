"""Keeps the read caches (services/kit/readcache.py) right from the outbox events.

Consumer group `read-cache` in the feed worker, apart from fanout so that a celebrity's
fanout never delays an invalidation. The post service applies the same effects right
after each commit; this is what makes them certain (a crash between the commit and the
Redis write) and what tells the caches of profile changes. Every effect is idempotent
and events of one topic arrive in commit order, so redelivery ends in the same state.
"""

from __future__ import annotations

from koo.events.v1 import events_pb2 as events_pb
from koo.post.v1 import post_service_pb2 as post_pb
from services.kit.events import Event
from services.kit.readcache import ReadCache

GROUP = "read-cache"


class CacheKeeper:
    def __init__(self, cache: ReadCache) -> None:
        self.cache = cache

    async def handle_post_events(self, events: list[Event]) -> None:
        for event in events:
            match event.payload:
                case events_pb.PostCreated(post_id=post_id, reply_to_id=reply_to, repost_of_id=repost_of):
                    await self.cache.changed([reply_to, repost_of])  # their reply / re-koo counts
                    await self.cache.restored(post_id)  # a removed or hidden post that is back
                case events_pb.PostDeleted(post_id=post_id, reply_to_id=reply_to, repost_of_id=repost_of):
                    await self.cache.deleted(post_id, parents=[reply_to, repost_of])
                case events_pb.PostLiked(post_id=post_id, user_id=user_id):
                    await self.cache.liked(user_id=user_id, post_id=post_id, on=True)
                case events_pb.PostUnliked(post_id=post_id, user_id=user_id):
                    await self.cache.liked(user_id=user_id, post_id=post_id, on=False)

    async def handle_user_events(self, events: list[Event]) -> None:
        for event in events:
            match event.payload:
                case events_pb.UserCreated(user=user):
                    await self.cache.profiles_known([user], fill=False)
                    await self.cache.author_known(
                        post_pb.PostAuthor(
                            id=user.user_id, handle=user.handle, display_name=user.display_name, verified=user.verified
                        )
                    )
                case events_pb.UserUpdated(user=user):
                    await self.cache.profiles_known([user], fill=False)
                    await self.cache.author_changed(user.user_id)
