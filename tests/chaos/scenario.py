"""One scenario: a community posting steadily, a fault in the middle, then the check."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from grpc_health.v1 import health_pb2

from tests.chaos.load import Load, Member, community, converged, post_steadily
from tests.chaos.platform import Chaos

Fault = Callable[[], Awaitable[None]]


@dataclass
class Outcome:
    load: Load
    members: list[Member]
    missing: dict[str, int]  # place -> acknowledged posts missing there after recovery
    converged_s: float  # from the end of the load until nothing was missing


def report(name: str, **figures: Any) -> None:
    """Print the figures a scenario measured (and append them to $KOO_CHAOS_REPORT)."""
    line = json.dumps({"scenario": name, **figures}, ensure_ascii=False)
    print(f"\nCHAOS {line}", flush=True)
    path = os.environ.get("KOO_CHAOS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


async def run(
    chaos: Chaos,
    fault: Fault,
    *,
    users: int = 6,
    rate: float = 10.0,
    before: float = 2.0,
    after: float = 3.0,
    settle: float = 60.0,
) -> Outcome:
    """Post at `rate`/s among `users`; `before` s in, inject `fault`; post `after` s more;
    then wait (up to `settle` s) for everything acknowledged to show up everywhere."""
    async with httpx.AsyncClient(base_url=chaos.base_url, timeout=10) as client:
        members = await community(client, users)
        load = Load()
        stop = asyncio.Event()
        poster = asyncio.create_task(post_steadily(client, members, load, rate=rate, stop=stop))
        await asyncio.sleep(before)
        await fault()
        await asyncio.sleep(after)
        stop.set()
        await poster
        missing, took = await converged(client, members, load, within=settle)
    return Outcome(load, members, missing, took)


async def health_status(address: str, service: str = "") -> int | None:
    import grpc
    from grpc_health.v1 import health_pb2_grpc

    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1
            )
        except grpc.aio.AioRpcError:
            return None
        return int(reply.status)


async def _serving(name: str, port: int) -> bool:
    if name != "gateway":
        status = await health_status(f"127.0.0.1:{port}")
        return status == int(health_pb2.HealthCheckResponse.SERVING)
    async with httpx.AsyncClient(timeout=1) as client:  # the gateway speaks HTTP
        try:
            return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class Recovery:
    restarted_s: float  # from the kill until a new process runs (the supervisor's part)
    serving_s: float  # from the kill until it answers SERVING (adds the process's start-up)


async def recovery(chaos: Chaos, name: str, *, old_pid: int, within: float = 60.0) -> Recovery:
    """From now until `name` runs again (a new pid), and until it answers SERVING."""
    started = time.monotonic()
    port = chaos.platform.ports[name]
    restarted: float | None = None
    while time.monotonic() - started < within:
        try:
            fresh = chaos.pid(name) != old_pid
        except (OSError, KeyError, ValueError):
            fresh = False
        if fresh and restarted is None:
            restarted = time.monotonic() - started
        if fresh and await _serving(name, port):
            return Recovery(restarted or 0.0, time.monotonic() - started)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} not serving again within {within}s:\n{chaos.platform.log_tail()}")
