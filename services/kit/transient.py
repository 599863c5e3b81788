"""Which failures are a dependency being down (retry later) rather than a bug or bad input.

One rule, used by the server's interceptor (answer UNAVAILABLE, so clients know a retry
may work, instead of INTERNAL) and by event consumers (retry with backoff for as long as
it takes instead of counting a delivery against the event).
"""

from __future__ import annotations

import sys

import grpc
import psycopg
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from services.kit.errors import Unavailable

# A peer service answering these is busy or away, not saying the request is wrong.
TRANSIENT_GRPC_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    # Redis unreachable, timing out, loading its data set, a read-only replica after a
    # failover, or no pooled connection free within the pool's wait.
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.TryAgainError,
    # PostgreSQL: connection refused or lost, admin shutdown, serialization failures and
    # deadlocks (all OperationalError in DB-API terms), and SQLAlchemy's pool wait.
    sa_errors.OperationalError,
    sa_errors.TimeoutError,
    psycopg.OperationalError,
    # Sockets and timeouts of any client.
    ConnectionError,
    TimeoutError,
)


def _elastic_types() -> tuple[type[BaseException], ...]:
    # Looked up, not imported: importing the Elasticsearch client (and aiohttp) took every
    # service a second of start-up, which a restarted process spends before serving. A
    # process that has not imported it cannot be raising its errors.
    module = sys.modules.get("elastic_transport")
    if module is None:
        return ()
    return (module.ConnectionError, module.ConnectionTimeout)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what it was raised from) says a dependency is unreachable or overloaded.

    Only explicit causes (`raise ... from ...`, as SQLAlchemy wraps driver errors) are
    followed: an error merely raised while another was being handled is its own failure.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (Unavailable, *_TRANSIENT_TYPES, *_elastic_types())):
            return True
        if isinstance(current, sa_errors.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, grpc.aio.AioRpcError) and current.code() in TRANSIENT_GRPC_CODES:
            return True
        current = current.__cause__
    return False
