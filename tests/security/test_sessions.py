"""Findings 5, 6, 11, 12, 16: sign-in throttling, hashing admission, revocation of access
tokens, password strength, and the refresh retry grace."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio

from gateway.app import create_app
from koo.user.v1 import user_service_pb2 as pb
from koo.user.v1 import user_service_pb2_grpc as pb_grpc
from services.kit.channels import open_channel
from services.kit.errors import Unavailable
from services.kit.server import start_server
from services.kit.workload import WorkloadIdentity
from services.user import __main__ as user_main
from services.user.hashing import HashGate
from tests.clients import PASSWORD, error_reason
from tests.harness import Stack, base_settings, free_port, identity_for_tests
from tests.security.conftest import fresh_handle, gateway_settings, sign_up


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def strict(stack: Stack, data_dir: Path, redis_url: str) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The gateway in front of the stack, with clients at two different addresses."""
    app = create_app(gateway_settings(stack, data_dir, redis_url))
    async with app.router.lifespan_context(app):
        clients = {}
        for name, ip in (("attacker", "203.0.113.9"), ("owner", "198.51.100.7")):
            transport = httpx.ASGITransport(app=app, client=(ip, 4000))
            clients[name] = httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=60)
        yield clients
        for client in clients.values():
            await client.aclose()


def sign_in(client: httpx.AsyncClient, handle: str, password: str) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(client.post("/v1/sessions", json={"handle": handle, "password": password}))


# 5 -----------------------------------------------------------------------------------


async def test_concurrent_wrong_passwords_cannot_all_be_tried(strict: dict[str, httpx.AsyncClient]) -> None:
    attacker = strict["attacker"]
    victim = await sign_up(attacker)
    answers = await asyncio.gather(*(sign_in(attacker, victim.handle, f"guess-{i}-{uuid.uuid4()}") for i in range(20)))
    codes = [a.status_code for a in answers]
    assert codes.count(401) <= 10, codes  # the budget (10 per 15 minutes), however concurrent
    assert codes.count(429) >= 10
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["retry-after"]) > 0


async def test_the_budget_follows_the_account_not_the_spelling(strict: dict[str, httpx.AsyncClient]) -> None:
    attacker = strict["attacker"]
    victim = await sign_up(attacker, fresh_handle("mini"))
    spellings = [victim.handle, victim.handle.upper(), victim.handle.capitalize()]
    codes = [
        (
            await attacker.post("/v1/sessions", json={"handle": spellings[i % 3], "password": "wrong-password-x"})
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


async def test_an_attacker_cannot_lock_the_owner_out(strict: dict[str, httpx.AsyncClient]) -> None:
    attacker, owner = strict["attacker"], strict["owner"]
    victim = await sign_up(owner)  # the owner signed in from their address before
    for i in range(12):
        await attacker.post("/v1/sessions", json={"handle": victim.handle, "password": f"wrong-{i}-password"})
    assert (await sign_in(attacker, victim.handle, PASSWORD)).status_code == 429
    assert (await sign_in(owner, victim.handle, PASSWORD)).status_code == 200


# 6 -----------------------------------------------------------------------------------


async def test_the_hash_gate_sheds_instead_of_queueing_forever() -> None:
    gate = HashGate(concurrency=1, queue=0, wait=0.1)
    release = threading.Event()
    busy = asyncio.ensure_future(gate.run(release.wait, 30))
    await asyncio.sleep(0)  # let it take the slot
    with pytest.raises(Unavailable) as info:
        await gate.run(lambda: None)
    assert info.value.retry_after and info.value.retry_after >= 1
    release.set()
    assert await busy is True
    assert await gate.run(lambda: 42) == 42


async def test_a_burst_of_sign_ins_is_shed_with_retry_after(database_url: str, redis_url: str, data_dir: Path) -> None:
    # A user service of its own with real argon2 costs and room for one hash at a time.
    port = free_port()
    wanted = {
        **base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports={}),
        "port": port,
        "argon2_time_cost": 3,
        "argon2_memory_kib": 65536,
        "argon2_parallelism": 1,
        "hash_concurrency": 1,
        "hash_queue": 0,
        "hash_wait": 0.05,
        "rate_login_failures": "off",
        "rate_login_failures_account": "off",
    }
    cls = user_main.SETTINGS_CLASS
    settings = cls(**{k: v for k, v in wanted.items() if k in cls.model_fields})
    running = await start_server(settings, name="user", register=user_main.make_register(settings))
    try:
        async with _identity_channel(identity_for_tests(data_dir), f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.UserServiceStub(channel)
            calls = [
                stub.CreateSession(
                    pb.CreateSessionRequest(handle=fresh_handle(), password="not-the-password"), timeout=30
                )
                for _ in range(12)
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await running.stop(grace=0.5)
    errors = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(errors) == len(results)
    codes = {e.code() for e in errors}
    assert grpc.StatusCode.DEADLINE_EXCEEDED not in codes
    shed = [e for e in errors if e.code() == grpc.StatusCode.UNAVAILABLE]
    assert shed and all(error_reason(e) == "SIGN_IN_BUSY" for e in shed)


def _identity_channel(identity: WorkloadIdentity, address: str) -> grpc.aio.Channel:
    return open_channel(address, timeout=30, identity=identity)


# 11 ----------------------------------------------------------------------------------


async def test_access_tokens_stop_working_after_sign_out(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    assert (await api.get("/v1/users/me", headers=who.auth)).status_code == 200
    assert (await api.delete("/v1/sessions/current", headers=who.auth)).status_code == 200
    after = await api.get("/v1/users/me", headers=who.auth)
    assert after.status_code == 401
    assert after.json()["error"]["details"][0]["reason"] == "TOKEN_REVOKED"


# 12 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["password", "12345678", "        ", "password1234", "qwertyuiop12", "aaaaaaaaaaaaaa"]
)
async def test_weak_passwords_are_refused(api: httpx.AsyncClient, password: str) -> None:
    answer = await api.post(
        "/v1/users", json={"handle": fresh_handle(), "password": password, "display_name": "x", "languages": ["hi"]}
    )
    assert answer.status_code == 400, answer.text
    assert "password" in answer.text


async def test_the_handle_is_not_a_password(api: httpx.AsyncClient) -> None:
    handle = fresh_handle("longhandle")
    answer = await api.post(
        "/v1/users", json={"handle": handle, "password": handle, "display_name": "x", "languages": ["hi"]}
    )
    assert answer.status_code == 400


# 16 ----------------------------------------------------------------------------------


async def test_two_concurrent_refreshes_keep_the_user_signed_in(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    body = {"refresh_token": who.refresh_token}
    first, second = await asyncio.gather(
        api.post("/v1/sessions:refresh", json=body), api.post("/v1/sessions:refresh", json=body)
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    for answer in (first, second):
        token = answer.json()["access_token"]
        assert (await api.get("/v1/users/me", headers={"authorization": f"Bearer {token}"})).status_code == 200
        again = await api.post("/v1/sessions:refresh", json={"refresh_token": answer.json()["refresh_token"]})
        assert again.status_code == 200
