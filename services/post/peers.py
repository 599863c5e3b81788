"""The post service's calls to other services, in domain terms.

Everything else in the package talks to these methods, never to stubs, so the domain
stays free of gRPC and each cross-service call is visible in one place.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from redis.asyncio import Redis
from redis.exceptions import RedisError

from koo.events.v1 import events_pb2 as events_pb
from koo.media.v1 import media_service_pb2 as media_pb
from koo.media.v1 import media_service_pb2_grpc as media_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.kit.blocks import BlockSets
from services.kit.channels import Channels
from services.kit.errors import ErrorReason, FailedPrecondition, InvalidArgument, Unavailable
from services.kit.readcache import ReadCache
from services.kit.upstream import upstream_errors

log = logging.getLogger("koo.post.peers")


def _author(p: events_pb.UserProfile) -> Author:
    return Author(p.user_id, p.handle, p.display_name, p.verified, list(p.languages))


def _profile(u: user_pb.User) -> events_pb.UserProfile:
    return events_pb.UserProfile(
        user_id=u.id, handle=u.handle, display_name=u.display_name, languages=list(u.languages), verified=u.verified
    )


MAX_USER_BATCH = 500
MAX_HANDLES = 100


@dataclass(frozen=True, slots=True)
class Author:
    id: int
    handle: str
    display_name: str
    verified: bool
    languages: list[str]


class MediaUnavailable(Exception):
    """The media service cannot answer (down or too slow)."""


class Peers:
    """User and media service calls, each with the channel's deadline."""

    def __init__(self, channels: Channels, cache: ReadCache | None = None, *, redis: Redis | None = None) -> None:
        self._users = user_grpc.UserServiceStub(channels.get("user"))
        self._media = media_grpc.MediaServiceStub(channels.get("media"))
        self._cache = cache
        self._block_sets = BlockSets(redis, self._fetch_block_set)

    async def _cached_profiles(self, user_ids: list[int]) -> dict[int, Author]:
        if self._cache is None:
            return {}
        try:
            profiles = await self._cache.profiles(user_ids)
        except RedisError:
            return {}
        return {u: _author(p) for u, p in profiles.items()}

    async def _remember(self, users: Sequence[user_pb.User]) -> None:
        if self._cache is None:
            return
        with contextlib.suppress(RedisError):
            await self._cache.profiles_known([_profile(u) for u in users], fill=True)

    async def authors(self, user_ids: Sequence[int]) -> dict[int, Author]:
        """Users by id: the profile cache first, then one call (per 500) for the rest."""
        wanted = list(dict.fromkeys(user_ids))
        found = await self._cached_profiles(wanted)
        wanted = [u for u in wanted if u not in found]
        for start in range(0, len(wanted), MAX_USER_BATCH):
            with upstream_errors("user"):
                reply = await self._users.BatchGetUsers(
                    user_pb.BatchGetUsersRequest(
                        user_ids=wanted[start : start + MAX_USER_BATCH], skip_followed_by_me=True
                    )
                )
            for u in reply.users:
                found[u.id] = Author(u.id, u.handle, u.display_name, u.verified, list(u.languages))
            await self._remember(reply.users)
        return found

    async def resolve_handles(self, handles: Sequence[str]) -> list[tuple[int, str]]:
        """(user id, handle as registered) of the handles that exist, in the order given."""
        if not handles:
            return []
        asked = list(handles)[:MAX_HANDLES]
        by_lower: dict[str, tuple[int, str]] = {}
        if self._cache is not None:
            with contextlib.suppress(RedisError):
                by_lower = {h: (p.user_id, p.handle) for h, p in (await self._cache.handles(asked)).items()}
        unknown = [h for h in asked if h.lower() not in by_lower]
        if unknown:
            with upstream_errors("user"):
                reply = await self._users.ResolveHandles(user_pb.ResolveHandlesRequest(handles=unknown))
            by_lower.update({u.handle.lower(): (u.id, u.handle) for u in reply.users})
            await self._remember(reply.users)
        return [by_lower[h.lower()] for h in asked if h.lower() in by_lower]

    async def block_set(self, user_id: int) -> frozenset[int]:
        """Users `user_id` blocked or is blocked by (the block rule's input), cached in Redis."""
        return await self._block_sets.get(user_id)

    async def _fetch_block_set(self, user_id: int) -> frozenset[int]:
        with upstream_errors("user"):
            graph = await self._users.GetSocialGraph(user_pb.GetSocialGraphRequest(user_id=user_id, blocks_only=True))
        return frozenset(graph.blocked_user_ids)

    async def blocked_either_way(self, a: int, b: int) -> bool:
        with upstream_errors("user"):
            rel = await self._users.GetRelationship(user_pb.GetRelationshipRequest(user_id=a, other_user_id=b))
        return bool(rel.blocking or rel.blocked_by)

    async def media(self, media_ids: Sequence[int]) -> dict[int, media_pb.Media]:
        """Media by id in one call; MediaUnavailable when the media service cannot answer."""
        if not media_ids:
            return {}
        try:
            reply = await self._media.BatchGetMedia(media_pb.BatchGetMediaRequest(media_ids=list(media_ids)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise MediaUnavailable(exc.code().name) from None
            raise
        return {m.id: m for m in reply.media}

    async def media_or_empty(self, media_ids: Sequence[int]) -> dict[int, media_pb.Media]:
        """For reads: posts still show (without media) while the media service is away."""
        try:
            return await self.media(media_ids)
        except MediaUnavailable as exc:
            log.warning("media service unavailable (%s); posts shown without media", exc)
            return {}

    async def owned_ready_media(self, *, owner_id: int, media_ids: Sequence[int]) -> list[media_pb.Media]:
        """The media to attach, each the owner's and ready; raises for anything else."""
        try:
            found = await self.media(media_ids)
        except MediaUnavailable:
            raise Unavailable(
                "the media service is not answering; try again", reason=ErrorReason.MEDIA_UNAVAILABLE
            ) from None
        for media_id in media_ids:
            item = found.get(media_id)
            if item is None or item.owner_id != owner_id:
                raise InvalidArgument("media_ids", message=f"media_ids: {media_id} is not media you uploaded")
            if item.status == media_pb.MEDIA_STATUS_FAILED:
                raise InvalidArgument("media_ids", message=f"media_ids: {media_id} failed processing")
            if item.status != media_pb.MEDIA_STATUS_READY:
                raise FailedPrecondition(
                    f"media {media_id} is still processing; attach it when it is ready",
                    reason=ErrorReason.MEDIA_NOT_READY,
                )
        return [found[i] for i in media_ids]
