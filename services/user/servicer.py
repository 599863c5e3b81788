"""gRPC face of the user service: proto <-> domain, nothing else."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from grpc.aio import ServicerContext

from koo.user.v1 import user_service_pb2 as pb
from koo.user.v1 import user_service_pb2_grpc as pb_grpc
from services.kit.context import current_caller, require_caller
from services.kit.errors import InvalidArgument
from services.kit.paging import page_size
from services.kit.workload import CLIENT_IP_KEY
from services.user.domain import Session, UserDomain
from services.user.store import UserRow
from services.user.trust_safety import TrustSafety
from services.user.trust_servicer import TrustSafetyRpcs

_MASKABLE = {"display_name", "bio", "languages"}


def user_pb(row: UserRow, *, followed_by_me: bool = False) -> pb.User:
    created = Timestamp()
    created.FromDatetime(row.created_at)
    return pb.User(
        id=row.id,
        handle=row.handle,
        display_name=row.display_name,
        bio=row.bio,
        languages=row.languages,
        verified=row.verified,
        follower_count=row.follower_count,
        following_count=row.following_count,
        post_count=row.post_count,
        created_at=created,
        followed_by_me=followed_by_me,
    )


def _target(user_id: int) -> int:
    if user_id <= 0:
        raise InvalidArgument("user_id", message="user_id must be a user's id")
    return user_id


class UserServicer(TrustSafetyRpcs, pb_grpc.UserServiceServicer):
    def __init__(self, domain: UserDomain, trust: TrustSafety) -> None:
        self.domain = domain
        self.trust = trust

    async def _users_pb(self, rows: list[UserRow]) -> list[pb.User]:
        caller = current_caller()
        followed = await self.domain.followed_by(
            viewer_id=caller.user_id if caller else None, user_ids=[r.id for r in rows]
        )
        return [user_pb(r, followed_by_me=r.id in followed) for r in rows]

    async def _one(self, row: UserRow) -> pb.User:
        """One user as a profile page shows it: with the reader's follow, block and mute."""
        caller = current_caller()
        if caller is None or caller.user_id == row.id:
            return user_pb(row)
        follows, blocks, mutes = await self.domain.viewer_flags(viewer_id=caller.user_id, user_id=row.id)
        user = user_pb(row, followed_by_me=follows)
        user.blocked_by_me, user.muted_by_me = blocks, mutes
        return user

    async def CreateUser(self, request: pb.CreateUserRequest, context: ServicerContext) -> pb.CreateUserResponse:
        user = await self.domain.register(
            handle=request.handle,
            password=request.password,
            display_name=request.display_name,
            languages=list(request.languages),
        )
        return pb.CreateUserResponse(user=user_pb(user))

    @staticmethod
    def _session_fields(session: Session) -> dict[str, object]:
        return {
            "access_token": session.access_token,
            "refresh_token": session.refresh_token,
            "token_type": "Bearer",
            "expires_in": session.expires_in,
            "user": user_pb(session.user),
        }

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: ServicerContext
    ) -> pb.CreateSessionResponse:
        violations = {f: f"{f} is required" for f in ("handle", "password") if not getattr(request, f)}
        if violations:
            raise InvalidArgument(violations)
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        session = await self.domain.login(
            handle=request.handle, password=request.password, client_ip=metadata.get(CLIENT_IP_KEY, "")
        )
        return pb.CreateSessionResponse(**self._session_fields(session))  # type: ignore[arg-type]

    async def RefreshSession(
        self, request: pb.RefreshSessionRequest, context: ServicerContext
    ) -> pb.RefreshSessionResponse:
        session = await self.domain.refresh(refresh_token=request.refresh_token)
        return pb.RefreshSessionResponse(**self._session_fields(session))  # type: ignore[arg-type]

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: ServicerContext
    ) -> pb.DeleteSessionResponse:
        await self.domain.logout(session_id=require_caller().session_id)
        return pb.DeleteSessionResponse()

    async def GetUser(self, request: pb.GetUserRequest, context: ServicerContext) -> pb.GetUserResponse:
        return pb.GetUserResponse(user=await self._one(await self.domain.get(user_id=_target(request.user_id))))

    async def GetUserByHandle(
        self, request: pb.GetUserByHandleRequest, context: ServicerContext
    ) -> pb.GetUserByHandleResponse:
        if not request.handle:
            raise InvalidArgument("handle", message="handle is required")
        return pb.GetUserByHandleResponse(user=await self._one(await self.domain.get_by_handle(handle=request.handle)))

    async def BatchGetUsers(
        self, request: pb.BatchGetUsersRequest, context: ServicerContext
    ) -> pb.BatchGetUsersResponse:
        rows = await self.domain.batch_get(user_ids=list(request.user_ids))
        if request.skip_followed_by_me:
            return pb.BatchGetUsersResponse(users=[user_pb(r) for r in rows])
        return pb.BatchGetUsersResponse(users=await self._users_pb(rows))

    async def UpdateUser(self, request: pb.UpdateUserRequest, context: ServicerContext) -> pb.UpdateUserResponse:
        caller = require_caller()
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument("update_mask", message="update_mask must name the fields to change")
        unknown = [p for p in paths if p not in _MASKABLE]
        if unknown:
            raise InvalidArgument(
                "update_mask",
                message=f"update_mask: {unknown[0]!r} cannot be changed; use display_name, bio, languages",
            )
        changes: dict[str, object] = {p: getattr(request.user, p) for p in paths}
        if "languages" in changes:
            changes["languages"] = list(request.user.languages)
        row = await self.domain.update_profile(user_id=caller.user_id, changes=changes)
        return pb.UpdateUserResponse(user=user_pb(row))

    async def FollowUser(self, request: pb.FollowUserRequest, context: ServicerContext) -> pb.FollowUserResponse:
        caller = require_caller()
        await self.domain.follow(
            follower_id=caller.user_id, followee_id=_target(request.user_id), languages=list(request.languages)
        )
        return pb.FollowUserResponse()

    async def UnfollowUser(self, request: pb.UnfollowUserRequest, context: ServicerContext) -> pb.UnfollowUserResponse:
        await self.domain.unfollow(follower_id=require_caller().user_id, followee_id=_target(request.user_id))
        return pb.UnfollowUserResponse()

    async def BlockUser(self, request: pb.BlockUserRequest, context: ServicerContext) -> pb.BlockUserResponse:
        await self.domain.block(blocker_id=require_caller().user_id, blocked_id=_target(request.user_id))
        return pb.BlockUserResponse()

    async def UnblockUser(self, request: pb.UnblockUserRequest, context: ServicerContext) -> pb.UnblockUserResponse:
        await self.domain.unblock(blocker_id=require_caller().user_id, blocked_id=_target(request.user_id))
        return pb.UnblockUserResponse()

    async def MuteUser(self, request: pb.MuteUserRequest, context: ServicerContext) -> pb.MuteUserResponse:
        await self.domain.mute(muter_id=require_caller().user_id, muted_id=_target(request.user_id), on=True)
        return pb.MuteUserResponse()

    async def UnmuteUser(self, request: pb.UnmuteUserRequest, context: ServicerContext) -> pb.UnmuteUserResponse:
        await self.domain.mute(muter_id=require_caller().user_id, muted_id=_target(request.user_id), on=False)
        return pb.UnmuteUserResponse()

    async def ListFollowers(
        self, request: pb.ListFollowersRequest, context: ServicerContext
    ) -> pb.ListFollowersResponse:
        page = await self.domain.list_follows(
            user_id=_target(request.user_id),
            followers=True,
            size=page_size(request.page_size),
            page_token=request.page_token,
        )
        return pb.ListFollowersResponse(users=await self._users_pb(page.users), next_page_token=page.next_page_token)

    async def ListFollowing(
        self, request: pb.ListFollowingRequest, context: ServicerContext
    ) -> pb.ListFollowingResponse:
        page = await self.domain.list_follows(
            user_id=_target(request.user_id),
            followers=False,
            size=page_size(request.page_size),
            page_token=request.page_token,
        )
        return pb.ListFollowingResponse(users=await self._users_pb(page.users), next_page_token=page.next_page_token)

    async def ListFollowerIds(
        self, request: pb.ListFollowerIdsRequest, context: ServicerContext
    ) -> pb.ListFollowerIdsResponse:
        refs, token = await self.domain.follower_refs(
            user_id=request.user_id,
            size=page_size(request.page_size, default=1000, maximum=10_000),
            page_token=request.page_token,
        )
        return pb.ListFollowerIdsResponse(
            followers=[pb.FollowerRef(user_id=uid, languages=langs) for uid, langs in refs], next_page_token=token
        )

    async def GetSocialGraph(
        self, request: pb.GetSocialGraphRequest, context: ServicerContext
    ) -> pb.GetSocialGraphResponse:
        if request.blocks_only:
            return pb.GetSocialGraphResponse(
                blocked_user_ids=await self.domain.blocked_either_way(user_id=request.user_id)
            )
        following, blocked, muted = await self.domain.social_graph(user_id=request.user_id)
        return pb.GetSocialGraphResponse(
            following=[pb.FolloweeRef(user_id=u, languages=langs, follower_count=n) for u, langs, n in following],
            blocked_user_ids=blocked,
            muted_user_ids=muted,
        )

    async def GetRelationship(
        self, request: pb.GetRelationshipRequest, context: ServicerContext
    ) -> pb.GetRelationshipResponse:
        return pb.GetRelationshipResponse(**await self.domain.relationship(a=request.user_id, b=request.other_user_id))

    async def ResolveHandles(
        self, request: pb.ResolveHandlesRequest, context: ServicerContext
    ) -> pb.ResolveHandlesResponse:
        rows = await self.domain.resolve_handles(handles=list(request.handles))
        return pb.ResolveHandlesResponse(users=[user_pb(r) for r in rows])
