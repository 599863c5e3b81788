"""Every service reports real health and lists itself through reflection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.kit.ids import lease_worker_id
from services.kit.redis_client import create_redis
from services.kit.server import start_server
from services.user.__main__ import SETTINGS_CLASS, make_register
from tests.harness import Stack, base_settings, free_port

FULL_NAMES = {
    "user": "koo.user.v1.UserService",
    "post": "koo.post.v1.PostService",
    "feed": "koo.feed.v1.FeedService",
    "search": "koo.search.v1.SearchService",
    "media": "koo.media.v1.MediaService",
}


@pytest.mark.parametrize("service", sorted(FULL_NAMES))
async def test_each_service_is_serving_and_reflects_its_api(stack: Stack, service: str) -> None:
    channel = stack.channel(service)
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", FULL_NAMES[service]):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await health.Check(health_pb2.HealthCheckRequest(service="koo.nope.v1.Nope"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def ask() -> list[str]:
        call = reflection.ServerReflectionInfo(timeout=5)
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        await call.done_writing()
        response = await call.read()
        return [s.name for s in response.list_services_response.service]

    listed = await ask()
    assert FULL_NAMES[service] in listed
    assert "grpc.health.v1.Health" in listed


async def test_shutdown_flips_health_to_not_serving(database_url: str, redis_url: str, data_dir: Path) -> None:
    port = free_port()
    wanted = {
        **base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports={}),
        "port": port,
    }
    settings = SETTINGS_CLASS(**{k: v for k, v in wanted.items() if k in SETTINGS_CLASS.model_fields})
    running = await start_server(settings, name="user", register=make_register(settings))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service="koo.user.v1.UserService"))
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(running.stop(grace=2))
        second = await asyncio.wait_for(watch.read(), timeout=5)
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await stopping


async def test_leased_worker_ids_differ_between_processes(redis_url: str) -> None:
    client = create_redis(redis_url)
    try:
        leased = {await lease_worker_id(client) for _ in range(50)}
    finally:
        await client.aclose()
    assert len(leased) == 50
