"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol with the limits it lacks.

uvicorn never times out a request still arriving (headers at a byte a second hold a
connection forever) and accepts any number and size of headers. This protocol adds:

- a deadline for the request head (`KOO_HTTP_HEADER_TIMEOUT`): 408, connection closed;
- an idle deadline while the body arrives (`KOO_HTTP_BODY_TIMEOUT`): connection closed;
- at most `KOO_HTTP_MAX_HEADERS` headers and `KOO_HTTP_MAX_HEADER_BYTES` of request line
  and headers: 431, connection closed.

The number of connections is capped by uvicorn's `limit_concurrency`
(`KOO_HTTP_MAX_CONNECTIONS`): beyond it requests get 503.

Under overload it also answers the calls admission control would refuse at once, from the
request head, without starting the app (`FastRefusals`, gateway/shedding.py).

Writes made in one turn of the event loop leave in one send (`_Coalescing`): uvicorn writes
an answer's head and body apart, two system calls and two TCP segments where one does.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.shedding import FastRefusals

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def _error_bytes(status: int, message: str, reason: str) -> bytes:
    body = json.dumps(
        {
            "error": {
                "code": status,
                "status": "INVALID_ARGUMENT",
                "message": message,
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "koo.app"}
                ],
            }
        }
    ).encode()
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"x-content-type-options: nosniff\r\nconnection: close\r\n\r\n" % (status, _REASONS[status], len(body))
    )
    return head + body


class _Coalescing:
    """A transport whose writes in one loop turn go out together, at the end of the turn
    (or at once when the connection is closed). Everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(bytes(data))

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with head/body deadlines and header limits (class attributes, set
    per server by `guarded_protocol`)."""

    header_timeout = 10.0
    body_timeout = 30.0
    max_headers = 100
    max_header_bytes = 16 * 1024
    refusals: ClassVar[FastRefusals | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard: asyncio.TimerHandle | None = None
        self._in_head = True
        self._head_bytes = 0
        self._raw_head_bytes = 0
        self._header_count = 0
        self._refused = False  # answered and closing: ignore what else arrives
        self._shed = False  # this request was answered 503 here; the connection lives on

    # Deadlines -------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._guard = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _expired(self) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        if self._in_head:
            self._refuse(408, "the request head took too long to arrive", "REQUEST_TIMEOUT")
        elif self.flow.read_paused:
            self._arm(self.body_timeout)  # we stopped reading (the app is busy): not the client's stall
        else:
            self.transport.close()  # the body stalled: the app sees the client go away

    def _refuse(self, status: int, message: str, reason: str) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_error_bytes(status, message, reason))
            self.transport.close()

    def _shed_now(self) -> bool:
        """Answer 503 here if admission control would refuse this call at once."""
        refusals = self.refusals
        if refusals is None or (self.cycle is not None and not self.cycle.response_complete):
            return False  # a pipelined request: answers must keep the requests' order
        if not refusals.refuses(self.parser.get_method(), self.url, self.headers):
            return False
        has_body = any(
            name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0")
            for name, value in self.headers
        )
        # A body would still have to be read to find the next request: close instead.
        keep_alive = self.parser.should_keep_alive() and not has_body
        self.transport.write(refusals.answer(keep_alive=keep_alive))
        if keep_alive:
            self._shed = True
        else:
            self._refused = True
            self._disarm()
            self.transport.close()
        return True

    # Protocol and parser callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Coalescing(transport, self.loop))  # type: ignore[arg-type]
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._raw_head_bytes += len(data)
        super().data_received(data)
        if self._in_head and not self._refused and self._raw_head_bytes > self.max_header_bytes:
            # Still no end of the head after this many bytes (one endless header, say).
            self._refuse(431, f"request headers are larger than {self.max_header_bytes} bytes", "HEADERS_TOO_LARGE")
        elif not self._in_head and self._guard is not None:
            self._arm(self.body_timeout)  # progress on the body: the idle deadline restarts

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._raw_head_bytes = self._header_count = 0
        self._arm(self.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_bytes += len(name) + len(value) + 4
        if self._header_count <= self.max_headers and self._head_bytes <= self.max_header_bytes:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._header_count > self.max_headers:
            self._refuse(431, f"a request may carry at most {self.max_headers} headers", "TOO_MANY_HEADERS")
            return
        if self._head_bytes > self.max_header_bytes:
            self._refuse(431, f"request headers are larger than {self.max_header_bytes} bytes", "HEADERS_TOO_LARGE")
            return
        self._arm(self.body_timeout)
        if self._shed_now():
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused and not self._shed:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        if self._shed:
            self._shed = False
            self.on_response_complete()  # as after any answer: keep-alive timer, next request
            return
        super().on_message_complete()


def guarded_protocol(
    *,
    header_timeout: float,
    body_timeout: float,
    max_headers: int,
    max_header_bytes: int,
    refusals: FastRefusals | None = None,
) -> type[GuardedHttpProtocol]:
    """A protocol class with these limits (and the app's fast refusals), for
    `uvicorn.run(http=...)`."""
    return type(
        "KooHttpProtocol",
        (GuardedHttpProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_headers": max_headers,
            "max_header_bytes": max_header_bytes,
            "refusals": refusals,
        },
    )
