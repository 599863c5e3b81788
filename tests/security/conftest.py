"""The security suite: every finding of issue 11 kept as a regression test.

Tests speak REST to an in-process gateway in front of the session's service stack (real
gRPC sockets, PostgreSQL, Redis), or gRPC to the services directly; a few start the
gateway under uvicorn on a free port to test the HTTP server's own limits.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.clients import PASSWORD
from tests.harness import Stack


def gateway_settings(stack: Stack, data_dir: Path, redis_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": data_dir,
        "redis_url": redis_url,
        "call_timeout": 10.0,
        **{f"{name}_addr": stack.addr(name) for name in ("user", "post", "feed", "search", "media")},
        # Generous budgets: these tests are about other limits unless they say so.
        "rate_ip": "off",
        "rate_read": "off",
        "rate_write": "off",
        "rate_signup": "off",
        "rate_login": "off",
        **overrides,
    }
    return GatewaySettings(**values)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(stack: Stack, data_dir: Path, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """REST through the gateway, in-process (ASGI), with its default rate limits loosened."""
    app = create_app(gateway_settings(stack, data_dir, redis_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(f"10.9.{uuid.uuid4().int % 250}.7", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=60) as client:
            yield client


@dataclass
class Person:
    id: str
    handle: str
    token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def fresh_handle(prefix: str = "sec") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def sign_up(api: httpx.AsyncClient, handle: str | None = None, *, password: str = PASSWORD) -> Person:
    handle = handle or fresh_handle()
    created = await api.post(
        "/v1/users", json={"handle": handle, "password": password, "display_name": "परीक्षक", "languages": ["hi"]}
    )
    assert created.status_code == 201, created.text
    session = await api.post("/v1/sessions", json={"handle": handle, "password": password})
    assert session.status_code == 200, session.text
    body = session.json()
    return Person(created.json()["id"], handle, body["access_token"], body["refresh_token"])


async def post(api: httpx.AsyncClient, who: Person, text: str, **fields: Any) -> dict[str, Any]:
    answer = await api.post("/v1/posts", json={"text": text, **fields}, headers=who.auth)
    assert answer.status_code in (200, 201), answer.text
    data: dict[str, Any] = answer.json()
    return data
