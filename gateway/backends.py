"""Channels to the services: several per service, used round-robin, one callable per RPC.

Each service may run as several processes sharing a port (SO_REUSEPORT), and the kernel
spreads *connections*, not calls, over them; one channel would send everything to one
process. So each service gets `channels_per_service` channels, each with its own
connection (`grpc.use_local_subchannel_pool`: otherwise gRPC shares one subchannel between
channels to the same target), and calls take them in turn.

No generated stubs: the callables are made from the descriptors, like the routes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.routes import Route, Streaming
from gateway.transcode import message_class
from services.kit.channels import RECONNECT_OPTIONS


def _channel_options(max_response_bytes: int) -> list[tuple[str, Any]]:
    return [
        *RECONNECT_OPTIONS,
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.max_receive_message_length", max_response_bytes),
        ("grpc.max_send_message_length", 8 * 1024 * 1024),
    ]


class ServicePool:
    """The channels to one service and, per RPC, a callable on each channel."""

    def __init__(self, name: str, address: str, *, size: int, max_response_bytes: int) -> None:
        self.name = name
        self.address = address
        options = _channel_options(max_response_bytes)
        self.channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(max(1, size))]
        self._turn: Iterator[int] = itertools.cycle(range(len(self.channels)))
        self._callables: dict[str, list[Any]] = {}

    def add(self, route: Route) -> None:
        if route.rpc in self._callables:
            return
        request_cls = message_class(route.input)
        response_cls = message_class(route.output)
        serialize = request_cls.SerializeToString
        deserialize = response_cls.FromString
        factory = {
            Streaming.UNARY: "unary_unary",
            Streaming.UPLOAD: "stream_unary",
            Streaming.DOWNLOAD: "unary_stream",
            Streaming.EVENTS: "unary_stream",
        }[route.streaming]
        self._callables[route.rpc] = [
            getattr(channel, factory)(route.rpc, request_serializer=serialize, response_deserializer=deserialize)
            for channel in self.channels
        ]

    def callable(self, rpc: str) -> Any:
        """The callable for `rpc` on the next channel, preferring connected ones (round-robin).

        A channel whose connection broke (its service restarting) is passed over while
        another is connected or connecting, so one re-dialling channel costs nothing; a call
        on a connecting channel waits for the connection, and when every channel failed
        its last attempt the service is down: the call fails at once (503) instead of
        waiting out its deadline.
        """
        calls = self._callables[rpc]
        first = next(self._turn)
        usable: int | None = None
        index = first
        for _ in range(len(calls)):
            state = self.channels[index].get_state(try_to_connect=True)
            if state is grpc.ChannelConnectivity.READY:
                return calls[index]
            if usable is None and state is not grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                usable = index
            index = next(self._turn)
        return calls[first if usable is None else usable]

    async def health(self, service_names: Iterable[str], *, seconds: float) -> str:
        """`SERVING`, or what is wrong: the health status, or the gRPC error code."""
        stub = health_pb2_grpc.HealthStub(self.channels[0])
        for service in service_names:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=seconds)
            except grpc.aio.AioRpcError as err:
                return str(err.code().name)
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
        return "SERVING"

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self.channels))


class Backends:
    """Every service the routes need, by name (`user`, `post`, ...)."""

    def __init__(self, pools: dict[str, ServicePool], services: dict[str, set[str]]) -> None:
        self.pools = pools
        self.services = services  # backend name -> full gRPC service names, for health

    @classmethod
    def open(cls, routes: list[Route], *, addresses: dict[str, str], size: int, max_response_bytes: int) -> Backends:
        pools: dict[str, ServicePool] = {}
        services: dict[str, set[str]] = {}
        for route in routes:
            if route.backend not in pools:
                pools[route.backend] = ServicePool(
                    route.backend, addresses[route.backend], size=size, max_response_bytes=max_response_bytes
                )
            pools[route.backend].add(route)
            services.setdefault(route.backend, set()).add(route.method.containing_service.full_name)
        return cls(pools, services)

    def callable(self, route: Route) -> Any:
        return self.pools[route.backend].callable(route.rpc)

    async def health(self, *, seconds: float) -> dict[str, str]:
        names = sorted(self.pools)
        results = await asyncio.gather(
            *(self.pools[n].health(sorted(self.services[n]), seconds=seconds) for n in names)
        )
        return dict(zip(names, results, strict=True))

    async def close(self) -> None:
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))
