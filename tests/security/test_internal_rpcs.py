"""Finding 3: internal gRPC services answer only Koo's workloads, and bind loopback in development."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.kit.settings import KitSettings
from services.kit.workload import METADATA_KEY, WorkloadIdentity
from tests.clients import PASSWORD, error_reason, new_account
from tests.harness import SERVICES, Stack


async def test_an_anonymous_caller_cannot_read_anyones_social_graph(stack: Stack) -> None:
    victim = await new_account(stack.channel("user"))
    async with grpc.aio.insecure_channel(stack.addr("user")) as bare:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await user_grpc.UserServiceStub(bare).GetSocialGraph(user_pb.GetSocialGraphRequest(user_id=victim.id))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(info.value) == "WORKLOAD_UNAUTHENTICATED"


async def test_sessions_cannot_be_minted_around_the_gateway(stack: Stack) -> None:
    victim = await new_account(stack.channel("user"))
    async with grpc.aio.insecure_channel(stack.addr("user")) as bare:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await user_grpc.UserServiceStub(bare).CreateSession(
                user_pb.CreateSessionRequest(handle=victim.user.handle, password=PASSWORD)
            )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "token",
    [
        "v1.gateway.1.AAAA",  # a made-up signature
        "v1.gateway",  # malformed
        "bearer something",
    ],
)
async def test_forged_service_tokens_are_refused(stack: Stack, token: str) -> None:
    async with grpc.aio.insecure_channel(stack.addr("post")) as bare:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await post_grpc.PostServiceStub(bare).GetPost(
                post_pb.GetPostRequest(post_id=1), metadata=((METADATA_KEY, token),)
            )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_token_signed_with_another_key_or_expired_is_refused(stack: Stack) -> None:
    other = WorkloadIdentity(b"k" * 48, name="gateway")
    stale = stack.identity.mint(now=0)
    async with grpc.aio.insecure_channel(stack.addr("user")) as bare:
        for token in (other.token(), stale):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await user_grpc.UserServiceStub(bare).GetUser(
                    user_pb.GetUserRequest(user_id=1), metadata=((METADATA_KEY, token),)
                )
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_stays_open_and_workloads_pass(stack: Stack) -> None:
    for name in SERVICES:
        async with grpc.aio.insecure_channel(stack.addr(name)) as bare:
            reply = await health_pb2_grpc.HealthStub(bare).Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    # The kit's channels carry the token, so a Koo workload's call works as before.
    someone = await new_account(stack.channel("user"))
    graph = await user_grpc.UserServiceStub(stack.channel("user")).GetSocialGraph(
        user_pb.GetSocialGraphRequest(user_id=someone.id)
    )
    assert list(graph.blocked_user_ids) == []


def test_development_binds_loopback_and_production_needs_a_service_key() -> None:
    assert KitSettings(env="development").listen_host() == "127.0.0.1"
    assert KitSettings(env="test").listen_host() == "127.0.0.1"
    with pytest.raises(ValueError, match="KOO_SERVICE_KEY_FILE"):
        KitSettings(
            env="production", database_url="postgresql://x", redis_url="redis://x", jwt_public_keys_file=Path("/x")
        )
