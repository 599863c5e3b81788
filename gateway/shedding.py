"""Refusals the HTTP protocol answers itself, before the app sees the request.

Under overload most requests are refused (at 5 x capacity, four of every five), so what a
refusal costs decides how much capacity is left for answers. Through the app a refusal
cost an ASGI task, Starlette's request and middleware, the error renderer and a log line:
about a fifth of an answer. Here it costs a route match and one write of prepared bytes.

It refuses only what admission control (gateway/admission.py) would refuse at once: a
unary API call while every slot is taken and the queue is full. The answer is the one
the app would give (the same renderer, the security headers, a fresh X-Request-Id).
With CORS on, requests with an Origin go through the app, which adds the headers a
browser needs to read the refusal.
"""

from __future__ import annotations

import httptools

from gateway.admission import Admission, overloaded
from gateway.dispatch import Target, admitted, new_request_id
from gateway.errors import error_response
from gateway.security_headers import add_defaults, has_origin
from gateway.templates import Matcher, PathDecodeError

# Stands in for the request id in the prepared answer (as long as new_request_id()'s).
_PLACEHOLDER = "R" * 32


def _prepared(*, keep_alive: bool) -> list[bytes]:
    """The refusal as bytes on the wire, split where the request id goes (it appears
    twice: the X-Request-Id header and the RequestInfo detail)."""
    response = error_response(overloaded(), request_id=_PLACEHOLDER)
    headers = [(name.lower(), value) for name, value in response.raw_headers]
    headers.append((b"x-request-id", _PLACEHOLDER.encode()))
    add_defaults(headers)
    if not keep_alive:
        headers.append((b"connection", b"close"))
    head = b"HTTP/1.1 503 Service Unavailable\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in headers)
    wire = head + b"\r\n" + bytes(response.body)
    return wire.split(_PLACEHOLDER.encode())


class FastRefusals:
    """Decides, from the request head alone, whether to refuse it now, and with what bytes."""

    def __init__(self, admission: Admission, matcher: Matcher[Target], *, cors: bool) -> None:
        self.admission = admission
        self.matcher = matcher
        self.cors = cors
        self._keep_alive = _prepared(keep_alive=True)
        self._close = _prepared(keep_alive=False)

    def refuses(self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
        if not self.admission.full():
            return False
        if self.cors and has_origin(headers):
            return False
        try:
            path = httptools.parse_url(url).path.decode("latin-1")
            found = self.matcher.match(method.decode("latin-1"), path)
        except (httptools.HttpParserInvalidURLError, PathDecodeError, UnicodeDecodeError):
            return False  # the app answers what is wrong with it
        if found is None or not admitted(found.target):
            return False
        self.admission.refused()
        return True

    def answer(self, *, keep_alive: bool) -> bytes:
        request_id = new_request_id().encode()
        return request_id.join(self._keep_alive if keep_alive else self._close)
