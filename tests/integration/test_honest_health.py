"""Health tells the truth: a database that is down makes a service NOT_SERVING (and its
calls UNAVAILABLE, never INTERNAL); a background task that dies makes the process
NOT_SERVING until it has been started again and keeps running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc
from services.kit.server import Resources, start_server
from services.kit.workload import METADATA_KEY
from services.user.__main__ import SETTINGS_CLASS, make_register
from tests.harness import base_settings, free_port, identity_for_tests

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def wait_for_status(channel: grpc.aio.Channel, name: str, wanted: int, *, within: float = 20) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = asyncio.get_running_loop().time() + within
    status = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            status = (await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status
        except grpc.aio.AioRpcError as err:  # NOT_FOUND until the first probe reported
            status = err.code()
        if status == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name!r} is {status}, not {wanted}")


def user_settings(*, database_url: str, redis_url: str, data_dir: Path, port: int) -> object:
    wanted = {
        **base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports={}),
        "port": port,
    }
    return SETTINGS_CLASS(**{k: v for k, v in wanted.items() if k in SETTINGS_CLASS.model_fields})


async def test_database_down_is_not_serving_and_calls_are_unavailable(redis_url: str, data_dir: Path) -> None:
    port = free_port()
    # Nothing listens on this port: PostgreSQL is "down" from the start.
    dead_database = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    settings = user_settings(database_url=dead_database, redis_url=redis_url, data_dir=data_dir, port=port)
    running = await start_server(settings, name="user", register=make_register(settings))  # type: ignore[arg-type]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            # As a Koo workload would call it (internal RPCs need a service token).
            token = ((METADATA_KEY, identity_for_tests(data_dir).token()),)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await user_grpc.UserServiceStub(channel).GetUser(
                    user_pb.GetUserRequest(user_id=1), timeout=20, metadata=token
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            # The service needs PostgreSQL (it tried to use it): it is out of rotation.
            await wait_for_status(channel, "koo.user.v1.UserService", NOT_SERVING)
            await wait_for_status(channel, "koo.dependency.postgres", NOT_SERVING)
            await wait_for_status(channel, "koo.dependency.redis", SERVING)
    finally:
        await running.stop(grace=0.5)


async def test_a_dead_task_makes_the_process_not_serving_until_restarted(
    database_url: str, redis_url: str, data_dir: Path
) -> None:
    port = free_port()
    settings = user_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, port=port)
    register = make_register(settings)  # type: ignore[arg-type]
    runs = 0
    crash_now = asyncio.Event()

    async def fragile() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await crash_now.wait()
            raise RuntimeError("boom")
        await asyncio.Event().wait()  # the second run keeps going

    async def register_with_task(server: grpc.aio.Server, res: Resources) -> list[str]:
        res.spawn(fragile, name="fragile")
        return await register(server, res)

    running = await start_server(settings, name="user", register=register_with_task)  # type: ignore[arg-type]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await wait_for_status(channel, "", SERVING)
            crash_now.set()
            await wait_for_status(channel, "", NOT_SERVING)
            await wait_for_status(channel, "koo.task.fragile", NOT_SERVING)
            await wait_for_status(channel, "koo.user.v1.UserService", NOT_SERVING)
            # Restarted after a second; healthy again once it has kept running a while.
            await wait_for_status(channel, "", SERVING)
            await wait_for_status(channel, "koo.task.fragile", SERVING)
            assert runs == 2
    finally:
        await running.stop(grace=0.5)
