"""Server-streaming RPCs of messages, served as server-sent events (text/event-stream).

`GET /v1/notifications:stream` is the StreamNotifications RPC: each message becomes one
event, `data:` its proto3 JSON. A message with an `event_id` field gives the event its
`id:` (the resume point); a reconnecting client sends it back as `Last-Event-ID` (browsers'
EventSource do so by themselves), which fills the request's `after_id` unless the query
sets it. An empty message is the stream's keep-alive and goes out as an SSE comment.

The first message is awaited before the answer starts, so a refused call (a revoked
session, a bad parameter) is an ordinary JSON error with its status; afterwards the
stream runs until the client leaves (the call is then cancelled) or the service ends it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from starlette.responses import StreamingResponse

from gateway.routes import Route
from gateway.transcode import dump_json, response_data
from services.kit.errors import InvalidArgument, Unauthenticated

log = logging.getLogger("koo.gateway.events")

RESUME_FIELD = "after_id"
EVENT_ID_FIELD = "event_id"


def with_resume_point(route: Route, query: list[tuple[str, str]], last_event_id: str | None) -> list[tuple[str, str]]:
    """The query, with `Last-Event-ID` as the resume point when the query gives none."""
    if not last_event_id or RESUME_FIELD not in route.input.fields_by_name:
        return query
    if any(name == RESUME_FIELD for name, _ in query):
        return query
    if not last_event_id.isdigit():
        raise InvalidArgument("Last-Event-ID", message="Last-Event-ID must be an event id this stream sent")
    return [*query, (RESUME_FIELD, last_event_id)]


def _frame(route: Route, message: Message) -> bytes:
    if message.ByteSize() == 0:
        return b": keep-alive\n\n"
    event_id = getattr(message, EVENT_ID_FIELD, 0) if EVENT_ID_FIELD in route.output.fields_by_name else 0
    head = f"id: {event_id}\n".encode() if event_id else b""
    return head + b"data: " + dump_json(response_data(route, message)) + b"\n\n"


async def stream(
    route: Route,
    message: Message,
    *,
    call_factory: Callable[[], Any],
    metadata: tuple[tuple[str, str], ...],
    still_allowed: Callable[[], Awaitable[None]],
) -> StreamingResponse:
    """`still_allowed` raises once the caller's session is revoked: the stream ends there
    (checked before each event, keep-alives included, so within a keep-alive interval)."""
    # No deadline: the stream lives as long as the client listens.
    call = call_factory()(message, metadata=metadata)
    try:
        first = await call.read()
    except BaseException:
        call.cancel()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            item = first
            while item is not grpc.aio.EOF:
                await still_allowed()
                yield _frame(route, item)
                item = await call.read()
        except grpc.aio.AioRpcError as err:
            # The status line is sent: the client sees the stream end and reconnects.
            if err.code() != grpc.StatusCode.CANCELLED:
                log.warning("event stream ended: %s %s", err.code().name, err.details())
        except Unauthenticated:
            return  # signed out or suspended meanwhile: the reconnect gets the 401
        finally:
            call.cancel()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
