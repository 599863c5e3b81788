"""The media service's calls to other services, and its consumer of post events."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from koo.events.v1 import events_pb2 as events_pb
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.kit.blocks import BlockSets
from services.kit.channels import Channels
from services.kit.events import Event
from services.kit.upstream import upstream_errors
from services.media import store


class MediaPeers:
    def __init__(self, channels: Channels, redis: Redis | None = None) -> None:
        self._users = user_grpc.UserServiceStub(channels.get("user"))
        self._block_sets = BlockSets(redis, self._fetch_block_set)

    async def block_set(self, user_id: int) -> frozenset[int]:
        """Users `user_id` blocked or is blocked by (cached in Redis)."""
        return await self._block_sets.get(user_id)

    async def _fetch_block_set(self, user_id: int) -> frozenset[int]:
        with upstream_errors("user"):
            graph = await self._users.GetSocialGraph(user_pb.GetSocialGraphRequest(user_id=user_id, blocks_only=True))
        return frozenset(graph.blocked_user_ids)


class PostAttachments:
    """Consumer of topic `post` (group `media-attachments`): which live posts hold which media."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def handle(self, events: list[Event]) -> None:
        async with self.engine.begin() as db:
            for event in events:
                payload = event.payload
                if isinstance(payload, events_pb.PostCreated) and payload.media_ids:
                    await store.attach_to_post(
                        db, post_id=payload.post_id, owner_id=payload.author_id, media_ids=list(payload.media_ids)
                    )
                elif isinstance(payload, events_pb.PostDeleted):
                    await store.detach_post(db, post_id=payload.post_id)
