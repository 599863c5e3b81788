"""Follows, blocks, mutes and follower lists over real gRPC."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from koo.user.v1 import user_service_pb2 as pb
from koo.user.v1 import user_service_pb2_grpc as pb_grpc
from tests.clients import Account, field_violations, new_account
from tests.harness import Stack


def stub(stack: Stack) -> pb_grpc.UserServiceStub:
    return pb_grpc.UserServiceStub(stack.channel("user"))


async def user(stack: Stack, user_id: int, viewer: Account | None = None) -> pb.User:
    metadata = viewer.auth if viewer else None
    return (await stub(stack).GetUser(pb.GetUserRequest(user_id=user_id), metadata=metadata)).user


async def test_follow_updates_counts_and_followed_by_me(stack: Stack) -> None:
    a, b = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=b.id), metadata=a.auth)
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=b.id), metadata=a.auth)  # twice is fine
    seen_by_a = await user(stack, b.id, viewer=a)
    assert seen_by_a.follower_count == 1 and seen_by_a.followed_by_me
    assert not (await user(stack, b.id)).followed_by_me
    assert (await user(stack, a.id)).following_count == 1
    await stub(stack).UnfollowUser(pb.UnfollowUserRequest(user_id=b.id), metadata=a.auth)
    await stub(stack).UnfollowUser(pb.UnfollowUserRequest(user_id=b.id), metadata=a.auth)
    assert (await user(stack, b.id)).follower_count == 0
    assert (await user(stack, a.id)).following_count == 0


async def test_follow_needs_sign_in_and_a_real_other_user(stack: Stack) -> None:
    a = await new_account(stack.channel("user"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).FollowUser(pb.FollowUserRequest(user_id=a.id))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).FollowUser(pb.FollowUserRequest(user_id=a.id), metadata=a.auth)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "user_id" in field_violations(info.value)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).FollowUser(pb.FollowUserRequest(user_id=424242), metadata=a.auth)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).FollowUser(pb.FollowUserRequest(user_id=424242, languages=["xx"]), metadata=a.auth)
    assert "languages" in field_violations(info.value)


async def test_per_follow_languages_are_kept(stack: Stack) -> None:
    a, b = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=b.id, languages=["ta", "en"]), metadata=a.auth)
    refs = await stub(stack).ListFollowerIds(pb.ListFollowerIdsRequest(user_id=b.id))
    assert [(r.user_id, list(r.languages)) for r in refs.followers] == [(a.id, ["ta", "en"])]
    graph = await stub(stack).GetSocialGraph(pb.GetSocialGraphRequest(user_id=a.id))
    assert [(f.user_id, list(f.languages)) for f in graph.following] == [(b.id, ["ta", "en"])]


async def test_block_removes_follows_both_ways_and_forbids_following(stack: Stack) -> None:
    a, b = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=b.id), metadata=a.auth)
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=a.id), metadata=b.auth)
    await stub(stack).BlockUser(pb.BlockUserRequest(user_id=b.id), metadata=a.auth)
    for viewer, other in ((a, b), (b, a)):
        u = await user(stack, other.id)
        assert u.follower_count == 0 and u.following_count == 0
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub(stack).FollowUser(pb.FollowUserRequest(user_id=other.id), metadata=viewer.auth)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    rel = await stub(stack).GetRelationship(pb.GetRelationshipRequest(user_id=a.id, other_user_id=b.id))
    assert rel.blocking and not rel.blocked_by and not rel.following
    graph = await stub(stack).GetSocialGraph(pb.GetSocialGraphRequest(user_id=b.id))
    assert list(graph.blocked_user_ids) == [a.id]
    await stub(stack).UnblockUser(pb.UnblockUserRequest(user_id=b.id), metadata=a.auth)
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=b.id), metadata=a.auth)
    assert (await user(stack, b.id)).follower_count == 1


async def test_mute_is_listed_in_the_social_graph(stack: Stack) -> None:
    a, b = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    await stub(stack).MuteUser(pb.MuteUserRequest(user_id=b.id), metadata=a.auth)
    graph = await stub(stack).GetSocialGraph(pb.GetSocialGraphRequest(user_id=a.id))
    assert list(graph.muted_user_ids) == [b.id]
    await stub(stack).UnmuteUser(pb.UnmuteUserRequest(user_id=b.id), metadata=a.auth)
    graph = await stub(stack).GetSocialGraph(pb.GetSocialGraphRequest(user_id=a.id))
    assert list(graph.muted_user_ids) == []


async def test_counts_stay_right_under_concurrent_follows(stack: Stack) -> None:
    star = await new_account(stack.channel("user"))
    fans = await asyncio.gather(*(new_account(stack.channel("user")) for _ in range(15)))
    # Each fan follows twice at once and one also unfollows: counts must match the rows.
    await asyncio.gather(
        *(stub(stack).FollowUser(pb.FollowUserRequest(user_id=star.id), metadata=f.auth) for f in fans for _ in (1, 2))
    )
    await asyncio.gather(
        stub(stack).UnfollowUser(pb.UnfollowUserRequest(user_id=star.id), metadata=fans[0].auth),
        stub(stack).UnfollowUser(pb.UnfollowUserRequest(user_id=star.id), metadata=fans[0].auth),
    )
    assert (await user(stack, star.id)).follower_count == 14
    listed = await stub(stack).ListFollowers(pb.ListFollowersRequest(user_id=star.id, page_size=100))
    assert len(listed.users) == 14


async def test_follower_paging_is_stable_while_follows_arrive(stack: Stack) -> None:
    star = await new_account(stack.channel("user"))
    first = await asyncio.gather(*(new_account(stack.channel("user")) for _ in range(7)))
    for fan in first:
        await stub(stack).FollowUser(pb.FollowUserRequest(user_id=star.id), metadata=fan.auth)
    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        page = await stub(stack).ListFollowers(pb.ListFollowersRequest(user_id=star.id, page_size=3, page_token=token))
        seen.extend(u.id for u in page.users)
        pages += 1
        if pages == 1:
            # New followers arrive between pages: they are newer, so they never shift the rest.
            late = await new_account(stack.channel("user"))
            await stub(stack).FollowUser(pb.FollowUserRequest(user_id=star.id), metadata=late.auth)
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert seen == [f.id for f in reversed(first)]
    assert len(set(seen)) == len(seen)


async def test_following_lists_and_bad_page_tokens(stack: Stack) -> None:
    a = await new_account(stack.channel("user"))
    others = [await new_account(stack.channel("user")) for _ in range(3)]
    for o in others:
        await stub(stack).FollowUser(pb.FollowUserRequest(user_id=o.id), metadata=a.auth)
    page = await stub(stack).ListFollowing(pb.ListFollowingRequest(user_id=a.id))
    assert [u.id for u in page.users] == [o.id for o in reversed(others)] and page.next_page_token == ""
    for bad in ("garbage!!", page.next_page_token or "eyJrIjoib3RoZXIifQ"):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub(stack).ListFollowing(pb.ListFollowingRequest(user_id=a.id, page_token=bad))
        assert "page_token" in field_violations(info.value)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).ListFollowing(pb.ListFollowingRequest(user_id=a.id, page_size=-1))
    assert "page_size" in field_violations(info.value)


async def test_resolve_handles_any_case(stack: Stack) -> None:
    a = await new_account(stack.channel("user"))
    found = await stub(stack).ResolveHandles(
        pb.ResolveHandlesRequest(handles=[a.user.handle.upper(), "nobody_here", "@x"])
    )
    assert [u.id for u in found.users] == [a.id]


async def test_batch_get_can_skip_the_followed_by_me_lookup(stack: Stack) -> None:
    a, b = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    await stub(stack).FollowUser(pb.FollowUserRequest(user_id=b.id), metadata=a.auth)
    full = await stub(stack).BatchGetUsers(pb.BatchGetUsersRequest(user_ids=[b.id]), metadata=a.auth)
    assert full.users[0].followed_by_me
    names_only = await stub(stack).BatchGetUsers(
        pb.BatchGetUsersRequest(user_ids=[b.id], skip_followed_by_me=True), metadata=a.auth
    )
    assert not names_only.users[0].followed_by_me and names_only.users[0].follower_count == 1
