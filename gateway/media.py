"""Bytes in and out of the media service, streamed: no file is ever whole in memory.

Upload (`POST /v1/media`, the client-streaming UploadMedia): the body is either the raw
file with its Content-Type, or `multipart/form-data` with the file in the field `file`
(parsed as it arrives by python-multipart's streaming parser). The RPC gets one
UploadMetadata message, then the bytes in chunks as they come off the socket.

A failed upload (too large, broken multipart, client gone) must *cancel* the call, never
end it cleanly: grpc.aio half-closes the stream when a request iterator raises, and the
service would then store a truncated file. So the iterator parks instead of raising, and
the handler cancels the call from outside, which the service sees as CANCELLED.

Download (`GET /v1/media/{media_id}/content`, the server-streaming GetMediaContent):
the first message says either where to go (302 to a signed URL) or the content type and
size; the bytes follow as the body, streamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from gateway.descriptors import message_of
from gateway.errors import GatewayError
from gateway.routes import Route
from gateway.transcode import dump_json, message_class, parse_query, response_data
from services.kit.errors import ErrorReason, InvalidArgument
from services.media.guard import UploadGuard
from services.media.limits import Rejected

log = logging.getLogger("koo.gateway")

CHUNK_BYTES = 64 * 1024

FILE_FIELD = "file"


def payload_too_large(limit: int) -> GatewayError:
    return GatewayError.simple(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the body is larger than {limit} bytes",
        reason=ErrorReason.PAYLOAD_TOO_LARGE,
        http=413,
    )


async def _limited(source: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in source:
        seen += len(chunk)
        if seen > limit:
            raise payload_too_large(limit)
        if chunk:
            yield chunk


async def _rechunk(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Chunks of at most CHUNK_BYTES (a socket read can be larger than a gRPC message
    should be; small reads pass as they are, waiting for more would only add latency)."""
    async for chunk in source:
        for start in range(0, len(chunk), CHUNK_BYTES):
            yield chunk[start : start + CHUNK_BYTES]


class _MultipartFile:
    """Feeds multipart bytes to the streaming parser; collects the `file` part's headers
    and data as they are recognised (callbacks are synchronous, the caller drains)."""

    def __init__(self, boundary: bytes) -> None:
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )
        self._field = b""
        self._value = b""
        self._headers: dict[str, bytes] = {}
        self._in_file = False
        self.file_seen = False
        self.file_done = False
        self.content_type = ""
        self.filename = ""
        self.ready: list[bytes] = []
        self.started = False

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field = b""
        self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        if options.get(b"name") == FILE_FIELD.encode() and not self.file_seen:
            self._in_file = True
            self.file_seen = True
            self.started = True
            self.content_type = self._headers.get("content-type", b"application/octet-stream").decode("latin-1")
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.ready.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self._in_file:
            self.file_done = True
            self._in_file = False

    def feed(self, chunk: bytes) -> list[bytes]:
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise InvalidArgument(FILE_FIELD, message=f"the multipart body is malformed: {exc}") from None
        out, self.ready = self.ready, []
        return out


async def _multipart(source: AsyncIterator[bytes], content_type: str) -> tuple[str, str, AsyncIterator[bytes]]:
    """(content type, filename, bytes) of the `file` part, read up to its first bytes."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidArgument("content-type", message="multipart/form-data needs a boundary")
    parser = _MultipartFile(boundary)
    early: list[bytes] = []
    async for chunk in source:
        early.extend(parser.feed(chunk))
        if parser.started:
            break
    if not parser.started:
        raise InvalidArgument(FILE_FIELD, message="the multipart body has no `file` field")

    async def rest() -> AsyncIterator[bytes]:
        for piece in early:
            yield piece
        async for chunk in source:
            for piece in parser.feed(chunk):
                yield piece
        parser.parser.finalize()
        if not parser.file_done:
            raise InvalidArgument(FILE_FIELD, message="the multipart body ends inside the file")

    return parser.content_type, parser.filename, rest()


async def upload(
    request: Request,
    route: Route,
    *,
    call_factory: Callable[[], Any],
    metadata: tuple[tuple[str, str], ...],
    idempotency_key: str | None,
    max_bytes: int,
    deadline: float,
) -> Response:
    unexpected = {
        name: "is not a query parameter of this call" for name, _ in parse_query(request.scope.get("query_string", b""))
    }
    if unexpected:
        raise InvalidArgument(unexpected)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise payload_too_large(max_bytes)
    header_type = request.headers.get("content-type", "").strip()
    body = _limited(request.stream(), max_bytes)
    if header_type.lower().startswith("multipart/form-data"):
        content_type, filename, data = await _multipart(body, header_type)
        declared_size = 0  # the Content-Length counts the multipart framing too
    else:
        if not header_type:
            raise InvalidArgument("content-type", message="send the file's Content-Type (e.g. image/jpeg)")
        content_type, filename, data = header_type, "", body
        declared_size = int(declared) if declared.isdigit() else 0

    request_cls = message_class(route.input)
    metadata_cls = message_class(message_of(route.input.fields_by_name["metadata"]))
    first = request_cls(
        metadata=metadata_cls(
            content_type=content_type,
            filename=filename,
            request_id=idempotency_key or "",
            declared_size=declared_size,
        )
    )
    failure: list[BaseException] = []
    failed = asyncio.Event()

    async def messages() -> AsyncIterator[Message]:
        yield first
        try:
            # The media service's own streaming checks, run here too: rejecting at the edge
            # gives the client its 400 even where grpc.aio would turn the service's
            # mid-stream rejection into INTERNAL (grpc/grpc#36066).
            guard = UploadGuard(declared_size)
            async for chunk in _rechunk(data):
                guard.feed(chunk)
                yield request_cls(chunk=chunk)
            guard.finish()
        except Rejected as exc:
            failure.append(InvalidArgument({FILE_FIELD: exc.message}, reason=exc.reason))
            failed.set()
            await asyncio.Event().wait()  # parked until the call is cancelled (see above)
        except (GatewayError, InvalidArgument, ClientDisconnect) as exc:
            failure.append(exc)
            failed.set()
            await asyncio.Event().wait()  # parked until the call is cancelled (see above)

    call = call_factory()(messages(), timeout=deadline, metadata=metadata)

    async def finish() -> Message:
        result: Message = await call
        return result

    finishing = asyncio.ensure_future(finish())
    failing = asyncio.ensure_future(failed.wait())
    try:
        await asyncio.wait({finishing, failing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        failing.cancel()
    if failure and not finishing.done():
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await finishing
        error = failure[0]
        if isinstance(error, ClientDisconnect):
            return Response(status_code=499)  # nobody is listening any more
        raise error
    response = finishing.result()
    return Response(
        dump_json(response_data(route, response)), status_code=route.success_status, media_type="application/json"
    )


async def download(
    route: Route,
    message: Message,
    *,
    call_factory: Callable[[], Any],
    metadata: tuple[tuple[str, str], ...],
    deadline: float,
) -> Response:
    call = call_factory()(message, timeout=deadline, metadata=metadata)
    first = await call.read()
    if first is grpc.aio.EOF:
        raise GatewayError.simple(grpc.StatusCode.NOT_FOUND, "no content", reason=ErrorReason.NOT_FOUND)
    if first.redirect_url:
        call.cancel()
        return RedirectResponse(first.redirect_url, status_code=302)

    async def body() -> AsyncIterator[bytes]:
        # The status line is gone by now: a failure can only cut the body short (the
        # Content-Length, when known, tells the client).
        try:
            if first.data:
                yield first.data
            while True:
                item = await call.read()
                if item is grpc.aio.EOF:
                    return
                if item.data:
                    yield item.data
        except grpc.aio.AioRpcError as err:
            log.warning("media content stream broke: %s %s", err.code().name, err.details())
        finally:
            call.cancel()

    # No policy of its own: the gateway's default (security_headers.py: `sandbox`,
    # `default-src 'none'`, nosniff) is what uploaded bytes need, so that opened as a page
    # they can never run as one of the app's origin.
    headers = {"Cache-Control": "private, max-age=3600"}
    if first.size_bytes > 0:
        headers["Content-Length"] = str(first.size_bytes)
    return StreamingResponse(body(), media_type=first.content_type or "application/octet-stream", headers=headers)
