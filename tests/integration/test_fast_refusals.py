"""Under overload the gateway's HTTP protocol refuses API calls from the request head, with
the answer the app would give: 503 OVERLOADED, Retry-After, the security headers and a
request id, and the connection stays usable. Raw HTTP/1.1 over a socket to the gateway
under uvicorn, its admission control held full."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import uvicorn
from starlette.applications import Starlette

from gateway.__main__ import server_protocol
from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.harness import free_port

WAIT = 30.0
HOME = b"GET /v1/feed/home HTTP/1.1\r\nhost: koo\r\nauthorization: Bearer not-even-checked\r\n\r\n"


@pytest_asyncio.fixture(loop_scope="session")
async def full(tmp_path: Path) -> AsyncIterator[tuple[int, Starlette]]:
    settings = GatewaySettings(env="test", data_dir=tmp_path, cors_origins="https://app.example")
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=server_protocol(settings, app),
        lifespan="on",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    # Every slot taken and the queue full: what a storm leaves.
    admission = app.state.refusals.admission
    admission.running = admission.limit
    loop = asyncio.get_running_loop()
    admission._waiters.extend(loop.create_future() for _ in range(admission.queue))
    yield port, app
    admission._waiters.clear()
    admission.running = 0
    server.should_exit = True
    await task


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), WAIT)
    return status, headers, body


async def test_a_call_beyond_capacity_is_refused_from_its_head_and_the_connection_lives(
    full: tuple[int, Starlette],
) -> None:
    port, app = full
    shed_before = app.state.refusals.admission.shed
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        ids = []
        for _ in range(2):  # keep-alive: the second request on the same connection is answered too
            writer.write(HOME)
            await writer.drain()
            status, headers, body = await read_answer(reader)
            assert status == 503
            assert headers["retry-after"] == "1"
            assert headers["content-type"] == "application/json"
            assert headers["x-content-type-options"] == "nosniff"
            assert "default-src 'none'" in headers["content-security-policy"]
            assert "connection" not in headers
            error = json.loads(body)["error"]
            assert error["status"] == "UNAVAILABLE"
            reasons = [d.get("reason") for d in error["details"]]
            assert "OVERLOADED" in reasons
            request_id = next(d["request_id"] for d in error["details"] if "request_id" in d)
            assert headers["x-request-id"] == request_id
            ids.append(request_id)
        assert ids[0] != ids[1]
    finally:
        writer.close()
    assert app.state.refusals.admission.shed == shed_before + 2


async def test_a_refused_call_with_a_body_closes_the_connection(full: tuple[int, Starlette]) -> None:
    port, _ = full
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = b'{"text": "hello"}'
        writer.write(
            b"POST /v1/posts HTTP/1.1\r\nhost: koo\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        status, headers, _ = await read_answer(reader)
        assert status == 503 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed
    finally:
        writer.close()


async def test_what_admission_does_not_count_is_still_served(full: tuple[int, Starlette]) -> None:
    port, _ = full
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nhost: koo\r\n\r\n")
        await writer.drain()
        status, _, body = await read_answer(reader)
        assert status == 200 and json.loads(body) == {"status": "ok"}
    finally:
        writer.close()


async def test_a_browsers_call_is_refused_with_cors_headers(full: tuple[int, Starlette]) -> None:
    # With an Origin the app answers (the protocol's prepared answer has no CORS headers),
    # so the web app can read the 503 and its Retry-After.
    port, _ = full
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(HOME.replace(b"host: koo\r\n", b"host: koo\r\norigin: https://app.example\r\n"))
        await writer.drain()
        status, headers, body = await read_answer(reader)
        assert status == 503 and headers["retry-after"] == "1"
        assert headers["access-control-allow-origin"] == "https://app.example"
        assert "OVERLOADED" in body.decode()
    finally:
        writer.close()
