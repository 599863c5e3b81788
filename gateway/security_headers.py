"""Security headers on every gateway answer: one policy, set once, for every route.

The API answers JSON and media, never a page, so by default nothing it sends may run or
be framed: `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; sandbox`
(an uploaded file that a browser opened as a document could not run script), `nosniff`
(a JSON or image answer is never guessed into HTML), `X-Frame-Options: DENY` for older
browsers, and no Referer leaks.

A route that serves something else states its own policy by setting the header on its
response (e.g. the web app at `/` with `script-src 'self'`); the defaults fill in only
what a response did not set. `page_csp()` builds such a policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"

DEFAULT_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", API_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def page_csp(*, connect: str = "'self'", media: str = "'self' blob: data:") -> str:
    """A strict policy for an HTML page served by the gateway: own scripts and styles only
    (no inline script), API calls to `connect`, images and media from `media`."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {media}; media-src {media}; connect-src {connect}; font-src 'self'; "
        "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def add_defaults(headers: list[tuple[bytes, bytes]]) -> None:
    """Add to a response's raw headers the DEFAULT_HEADERS it did not set itself (names
    lower-case, as Starlette and uvicorn keep them)."""
    present = {name.lower() for name, _ in headers}
    headers.extend(item for item in DEFAULT_HEADERS if item[0] not in present)


def has_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a request (raw headers, names lower-case) came from a page of another origin:
    with CORS on, only Starlette's CORS middleware may answer it (the headers a browser
    needs to read the answer)."""
    return any(name == b"origin" for name, _ in headers)


class SecurityHeaders:
    """ASGI middleware adding DEFAULT_HEADERS a response did not set itself (for what the
    dispatcher does not answer itself: CORS preflights, Starlette's own errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                add_defaults(headers)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
