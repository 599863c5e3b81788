"""The gateway against fake services over real gRPC sockets: deadlines (504), a service
that is down (503) or not built yet (501), and the channel pool's several connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway.app import create_app
from gateway.settings import GatewaySettings
from koo.post.v1 import post_service_pb2_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from services.kit.auth import TokenSigner, ensure_dev_keys
from tests.harness import free_port

peers: list[str] = []


async def get_user(request: user_pb.GetUserRequest, context: grpc.aio.ServicerContext) -> user_pb.GetUserResponse:
    peers.append(context.peer())
    if request.user_id == 999:
        await asyncio.sleep(2)  # slower than the gateway's deadline
    return user_pb.GetUserResponse(user=user_pb.User(id=request.user_id, handle="fake"))


@pytest_asyncio.fixture(loop_scope="session")
async def fake_services() -> AsyncIterator[int]:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "koo.user.v1.UserService",
        {
            "GetUser": grpc.unary_unary_rpc_method_handler(
                get_user,
                request_deserializer=user_pb.GetUserRequest.FromString,
                response_serializer=user_pb.GetUserResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    # The generated base class answers UNIMPLEMENTED, as an unbuilt service does.
    post_service_pb2_grpc.add_PostServiceServicer_to_server(
        post_service_pb2_grpc.PostServiceServicer(),  # type: ignore[abstract]
        server,
    )
    # Both fake services say SERVING, as real ones do.
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("koo.user.v1.UserService", "koo.post.v1.PostService"):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield port
    await server.stop(0)


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(fake_services: int, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    private, jwks = ensure_dev_keys(tmp_path)
    token = TokenSigner.from_file(private, issuer="koo-user-service", audience="koo").sign(
        user_id=7, session_id="s", ttl_seconds=300
    )
    settings = GatewaySettings(
        env="test",
        data_dir=tmp_path,
        jwt_public_keys_file=jwks,
        user_addr=f"127.0.0.1:{fake_services}",
        post_addr=f"127.0.0.1:{fake_services}",
        feed_addr=f"127.0.0.1:{free_port()}",  # nothing listens there
        call_timeout=0.5,
        channels_per_service=3,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, token


@pytest.mark.asyncio(loop_scope="session")
async def test_calls_use_several_connections(gateway: tuple[httpx.AsyncClient, str]) -> None:
    client, token = gateway
    peers.clear()
    for _ in range(6):
        answer = await client.get("/v1/users/me", headers={"authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["id"] == "7"
    assert len(set(peers)) == 3  # round-robin over three channels, each its own connection


@pytest.mark.asyncio(loop_scope="session")
async def test_deadline_passed_is_504(gateway: tuple[httpx.AsyncClient, str]) -> None:
    client, token = gateway
    answer = await client.get("/v1/users/999", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 504
    assert answer.json()["error"]["status"] == "DEADLINE_EXCEEDED"


@pytest.mark.asyncio(loop_scope="session")
async def test_unbuilt_service_is_501(gateway: tuple[httpx.AsyncClient, str]) -> None:
    client, token = gateway
    answer = await client.post("/v1/posts", headers={"authorization": f"Bearer {token}"}, json={"text": "x"})
    assert answer.status_code == 501
    assert answer.json()["error"]["status"] == "UNIMPLEMENTED"


@pytest.mark.asyncio(loop_scope="session")
async def test_service_down_is_503_and_degrades_readiness(gateway: tuple[httpx.AsyncClient, str]) -> None:
    client, token = gateway
    answer = await client.get("/v1/feed/home", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 503
    assert answer.json()["error"]["status"] == "UNAVAILABLE"
    assert int(answer.headers["retry-after"]) >= 1
    # The other services still answer: the gateway stays in rotation and says what is down.
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["checks"]["feed"] == "UNAVAILABLE"
    assert body["checks"]["redis"] == "NOT CONFIGURED"
    assert body["checks"]["user"] == body["checks"]["post"] == "SERVING"
    assert "home and user timelines, trends" in body["degraded"]
    assert "posting and reading posts" not in body["degraded"]
