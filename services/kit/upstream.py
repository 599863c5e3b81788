"""Errors from a peer service, turned into errors this service can answer with.

Without this, a peer that is down (UNAVAILABLE) or slow (DEADLINE_EXCEEDED) would reach
the caller as UNKNOWN/INTERNAL. Wrap calls to peers in `upstream_errors("post")`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from services.kit.errors import ErrorReason, KooError, NotFound, PermissionDenied, Unauthenticated, Unavailable

_PASS_THROUGH: dict[grpc.StatusCode, type[KooError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}
_TRANSIENT = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)


@contextmanager
def upstream_errors(service: str) -> Iterator[None]:
    """Map a peer's transient failures to UNAVAILABLE, and its caller-facing codes through."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
        if code in _TRANSIENT:
            raise Unavailable(
                f"the {service} service is not answering; try again", reason=ErrorReason.UPSTREAM_UNAVAILABLE
            ) from exc
        if code in _PASS_THROUGH:
            raise _PASS_THROUGH[code](exc.details() or code.name.lower()) from exc
        raise
