"""Client channels between services: a deadline on every call, the caller forwarded,
this process's service token attached (services.kit.workload).

Stubs are built once per process from one channel per peer (never as module globals).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from services.kit.context import current_caller, current_request_id
from services.kit.workload import METADATA_KEY, WorkloadIdentity

# Re-dial a peer quickly once its connection broke: with gRPC's default backoff (1 s,
# growing to 2 minutes) calls kept failing for seconds after a restarted peer was serving
# again. Dialling a closed port is cheap, so at most one attempt a second.
RECONNECT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)

_CHANNEL_OPTIONS: Sequence[tuple[str, Any]] = (
    *RECONNECT_OPTIONS,
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.enable_retries", 1),
)


def _details(
    details: grpc.aio.ClientCallDetails, default_timeout: float, identity: WorkloadIdentity
) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    if METADATA_KEY not in metadata:
        metadata[METADATA_KEY] = identity.token()
    caller = current_caller()
    if caller is not None and "authorization" not in metadata:
        metadata["authorization"] = f"Bearer {caller.token}"
    request_id = current_request_id()
    if request_id and "x-request-id" not in metadata:
        metadata["x-request-id"] = request_id
    timeout = details.timeout if details.timeout is not None else default_timeout
    return grpc.aio.ClientCallDetails(details.method, timeout, metadata, details.credentials, details.wait_for_ready)


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, timeout: float, identity: WorkloadIdentity) -> None:
        self.timeout = timeout
        self.identity = identity

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(_details(client_call_details, self.timeout, self.identity), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, timeout: float, identity: WorkloadIdentity) -> None:
        self.timeout = timeout
        self.identity = identity

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(_details(client_call_details, self.timeout, self.identity), request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, timeout: float, identity: WorkloadIdentity) -> None:
        self.timeout = timeout
        self.identity = identity

    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(_details(client_call_details, self.timeout, self.identity), request_iterator)


def open_channel(address: str, *, timeout: float, identity: WorkloadIdentity) -> grpc.aio.Channel:
    """A channel to `address` whose calls carry `identity`'s service token and get `timeout`
    seconds unless they say otherwise."""
    interceptors: list[grpc.aio.ClientInterceptor] = [
        _UnaryUnary(timeout, identity),
        _UnaryStream(timeout, identity),
        _StreamUnary(timeout, identity),
    ]
    return grpc.aio.insecure_channel(address, options=_CHANNEL_OPTIONS, interceptors=interceptors)


class Channels:
    """Lazily opened channels to peer services, closed together at shutdown."""

    def __init__(self, addresses: dict[str, str], *, timeout: float, identity: WorkloadIdentity) -> None:
        self._addresses = addresses
        self._timeout = timeout
        self._identity = identity
        self._open: dict[str, grpc.aio.Channel] = {}

    def get(self, service: str) -> grpc.aio.Channel:
        if service not in self._open:
            self._open[service] = open_channel(self._addresses[service], timeout=self._timeout, identity=self._identity)
        return self._open[service]

    async def close(self) -> None:
        for channel in self._open.values():
            await channel.close()
        self._open.clear()
