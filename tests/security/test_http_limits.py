"""Finding 13: slow and silent connections are closed; huge and numerous headers refused.

The gateway runs under uvicorn with its own protocol (gateway/http_server.py) on a free
port; the tests speak raw HTTP/1.1 over sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import uvicorn

from gateway.__main__ import server_protocol
from gateway.app import create_app
from tests.harness import Stack, free_port
from tests.security.conftest import gateway_settings

WAIT = 30.0  # how long a test waits for the server to act (far beyond its deadlines)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(stack: Stack, data_dir: Path, redis_url: str) -> AsyncIterator[int]:
    settings = gateway_settings(stack, data_dir, redis_url, http_header_timeout=1.0, http_body_timeout=1.0)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        http=server_protocol(settings),
        limit_concurrency=settings.http_max_connections,
        lifespan="on",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1200):  # uvicorn offers no event for "listening"
        if server.started:
            break
        await asyncio.sleep(0.05)
    yield port
    server.should_exit = True
    await task


async def exchange(port: int, data: bytes) -> bytes:
    """Send `data`, then read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()


async def test_a_head_that_never_ends_is_answered_408_and_closed(served: int) -> None:
    answer = await exchange(served, b"GET /healthz HTTP/1.1\r\nHost: koo\r\nX-Slow: a")
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"REQUEST_TIMEOUT" in answer


async def test_a_silent_connection_is_closed(served: int) -> None:
    answer = await exchange(served, b"")
    assert answer.startswith(b"HTTP/1.1 408 ") or answer == b""


async def test_a_stalled_body_is_dropped(served: int) -> None:
    head = (
        b"POST /v1/sessions HTTP/1.1\r\nHost: koo\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"handle":'
    )
    answer = await exchange(served, head)
    assert b" 200 " not in answer.split(b"\r\n", 1)[0]


async def test_two_thousand_headers_are_refused(served: int) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
    answer = await exchange(served, b"GET /healthz HTTP/1.1\r\nHost: koo\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"TOO_MANY_HEADERS" in answer


async def test_a_hundred_kilobyte_header_is_refused(served: int) -> None:
    answer = await exchange(served, b"GET /healthz HTTP/1.1\r\nHost: koo\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_ordinary_requests_still_work_with_the_security_headers(served: int) -> None:
    answer = await exchange(served, b"GET /healthz HTTP/1.1\r\nHost: koo\r\nConnection: close\r\n\r\n")
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200 ")
    assert b"x-content-type-options: nosniff" in head
    assert b"content-security-policy: default-src 'none'" in head
