"""Overload is shed, not queued: beyond its admission limit the gateway answers 503 with
Retry-After at once, and a service refusing calls over its own limit is a 503 too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio

from gateway.app import create_app
from gateway.settings import GatewaySettings
from koo.user.v1 import user_service_pb2 as user_pb
from services.kit.auth import TokenSigner, ensure_dev_keys

SLOW_SECONDS = 0.4


async def slow_get_user(request: user_pb.GetUserRequest, context: grpc.aio.ServicerContext) -> user_pb.GetUserResponse:
    await asyncio.sleep(SLOW_SECONDS)
    return user_pb.GetUserResponse(user=user_pb.User(id=request.user_id, handle="slow"))


async def start_user_service(*, max_concurrent: int | None) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(maximum_concurrent_rpcs=max_concurrent)
    handler = grpc.method_handlers_generic_handler(
        "koo.user.v1.UserService",
        {
            "GetUser": grpc.unary_unary_rpc_method_handler(
                slow_get_user,
                request_deserializer=user_pb.GetUserRequest.FromString,
                response_serializer=user_pb.GetUserResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


MakeGateway = Callable[..., Awaitable[tuple[httpx.AsyncClient, str]]]


@pytest_asyncio.fixture(loop_scope="session")
async def make_gateway(tmp_path: Path) -> AsyncIterator[MakeGateway]:
    """Builds a gateway (with the given settings) in front of a fresh slow user service."""
    private, jwks = ensure_dev_keys(tmp_path)
    token = TokenSigner.from_file(private, issuer="koo-user-service", audience="koo").sign(
        user_id=7, session_id="s", ttl_seconds=300
    )
    async with contextlib.AsyncExitStack() as stack:

        async def make(*, service_limit: int | None, **settings: Any) -> tuple[httpx.AsyncClient, str]:
            server, port = await start_user_service(max_concurrent=service_limit)
            stack.push_async_callback(server.stop, 0)
            app = create_app(
                GatewaySettings(
                    env="test",
                    data_dir=tmp_path,
                    jwt_public_keys_file=jwks,
                    user_addr=f"127.0.0.1:{port}",
                    call_timeout=5,
                    **settings,
                )
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30)
            await stack.enter_async_context(client)
            return client, token

        yield make


async def burst(client: httpx.AsyncClient, token: str, n: int) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {token}"}
    return list(await asyncio.gather(*(client.get(f"/v1/users/{i + 1}", headers=headers) for i in range(n))))


@pytest.mark.asyncio(loop_scope="session")
async def test_beyond_the_admission_limit_requests_are_shed_with_retry_after(make_gateway: MakeGateway) -> None:
    client, token = await make_gateway(service_limit=None, admission_limit=2, admission_queue=2, admission_wait=0.1)
    answers = await burst(client, token, 12)
    codes = sorted(a.status_code for a in answers)
    assert set(codes) == {200, 503}, codes
    # Two run, and the two queued behind them cannot get a slot within 0.1 s: all else is shed.
    assert codes.count(200) == 2
    for refused in (a for a in answers if a.status_code == 503):
        assert refused.headers["retry-after"] == "1"
        error = refused.json()["error"]
        assert error["status"] == "UNAVAILABLE"
        assert any(d.get("reason") == "OVERLOADED" for d in error["details"])
    # Once the burst is over, requests are admitted again.
    after = await burst(client, token, 2)
    assert [a.status_code for a in after] == [200, 200]


@pytest.mark.asyncio(loop_scope="session")
async def test_queued_requests_get_a_slot_when_one_frees_in_time(make_gateway: MakeGateway) -> None:
    client, token = await make_gateway(service_limit=None, admission_limit=2, admission_queue=4, admission_wait=5)
    answers = await burst(client, token, 6)
    assert [a.status_code for a in answers] == [200] * 6


@pytest.mark.asyncio(loop_scope="session")
async def test_a_service_over_its_concurrency_limit_is_503_not_429(make_gateway: MakeGateway) -> None:
    client, token = await make_gateway(service_limit=1, admission_limit=0)
    answers = await burst(client, token, 6)
    codes = [a.status_code for a in answers]
    assert 200 in codes and 503 in codes and not {429, 500} & set(codes), codes
    assert all(a.headers.get("retry-after") for a in answers if a.status_code == 503)
