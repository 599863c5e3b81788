"""Peer failures become answers the caller can act on, never UNKNOWN."""

from __future__ import annotations

import grpc
import pytest

from services.kit.errors import KooError, NotFound, Unavailable
from services.kit.upstream import upstream_errors


def peer_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="peer said no")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.UNAVAILABLE, Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, Unavailable),
        (grpc.StatusCode.NOT_FOUND, NotFound),
    ],
)
def test_peer_codes_are_translated(code: grpc.StatusCode, expected: type[KooError]) -> None:
    with pytest.raises(expected), upstream_errors("post"):
        raise peer_error(code)


def test_other_codes_pass_unchanged() -> None:
    with pytest.raises(grpc.aio.AioRpcError), upstream_errors("post"):
        raise peer_error(grpc.StatusCode.INTERNAL)
