"""The gateway checks revoked sessions and suspended accounts in memory, and the memory
never falls behind Redis: announcements are applied as they come, the list is loaded
again whenever the subscription is made again, and a request through the gateway costs
no Redis round trip for it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.kit.revocation import RevocationMirror, SessionRevocations
from tests.security.conftest import sign_up

WAIT = 10.0


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {WAIT}s: {what}")


@pytest_asyncio.fixture(loop_scope="session")
async def mirror(redis: Redis) -> AsyncIterator[RevocationMirror]:
    running = RevocationMirror()
    task = asyncio.create_task(running.run(redis))
    await until(lambda: running.in_step, "the mirror is in step")
    yield running
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_revocation_made_elsewhere_reaches_the_mirror(redis: Redis, mirror: RevocationMirror) -> None:
    # The user service writes; the gateway's mirror answers without asking Redis.
    writer = SessionRevocations(redis)
    session = secrets.token_hex(8)
    assert mirror.refusal(session, 1) is None
    await writer.revoke(session, seconds=60)
    await until(lambda: mirror.refusal(session, 1) == "TOKEN_REVOKED", "the sign-out is mirrored")
    await writer.revoke_account(424242, seconds=None)
    await until(lambda: mirror.refusal("other", 424242) == "ACCOUNT_SUSPENDED", "the suspension is mirrored")
    await writer.restore_account(424242)
    await until(lambda: mirror.refusal("other", 424242) is None, "the restoration is mirrored")


async def test_entries_listed_before_the_mirror_started_are_loaded(redis: Redis) -> None:
    session = secrets.token_hex(8)
    await SessionRevocations(redis).revoke(session, seconds=60)
    late = RevocationMirror()
    task = asyncio.create_task(late.run(redis))
    try:
        await until(lambda: late.in_step, "the mirror is in step")
        assert late.refusal(session, 2) == "TOKEN_REVOKED"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_what_was_missed_while_unsubscribed_is_loaded_again(redis: Redis, mirror: RevocationMirror) -> None:
    # An entry written with no announcement stands for one said while the subscription was
    # down: once the subscription is made again, the mirror must hold it.
    session = secrets.token_hex(8)
    await redis.set(f"koo:revoked-session:{session}", "1", ex=60)
    assert mirror.refusal(session, 3) is None
    # The subscription's connection drops (only this mirror's: other subscribers of the
    # shared test Redis are left alone).
    assert mirror._pubsub is not None and mirror._pubsub.connection is not None
    await mirror._pubsub.connection.disconnect()
    assert not mirror.in_step  # meanwhile each request would ask Redis
    await until(lambda: mirror.refusal(session, 3) == "TOKEN_REVOKED", "the list is loaded again")
    assert mirror.in_step


async def test_a_revocation_ends_when_its_tokens_would_have(redis: Redis, mirror: RevocationMirror) -> None:
    session = secrets.token_hex(8)
    await SessionRevocations(redis).revoke(session, seconds=1)
    await until(lambda: mirror.refusal(session, 4) == "TOKEN_REVOKED", "the sign-out is mirrored")
    await asyncio.sleep(1.1)
    assert mirror.refusal(session, 4) is None


async def test_without_redis_the_last_copy_still_refuses(redis: Redis, mirror: RevocationMirror) -> None:
    session = secrets.token_hex(8)
    await SessionRevocations(redis).revoke(session, seconds=60)
    await until(lambda: mirror.refusal(session, 5) == "TOKEN_REVOKED", "the sign-out is mirrored")
    # A gateway whose Redis does not answer (nothing listens on port 1) and whose mirror
    # is out of step falls back to the copy it loaded, not to letting tokens through.
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    copy = RevocationMirror()
    copy.sessions, copy.loaded = dict(mirror.sessions), True
    try:
        assert await SessionRevocations(unreachable, mirror=copy).refusal(session, 5) == "TOKEN_REVOKED"
        assert await SessionRevocations(unreachable, mirror=copy).refusal("never-listed", 5) is None
    finally:
        await unreachable.aclose()


async def test_an_authenticated_read_costs_no_revocation_round_trip(api: httpx.AsyncClient, redis: Redis) -> None:
    who = await sign_up(api)
    assert (await api.get("/v1/users/me", headers=who.auth)).status_code == 200
    # What Redis is asked while the reads run (MONITOR sees every command of every client).
    seen: list[str] = []
    started = asyncio.Event()

    async def watch() -> None:
        async with redis.monitor() as monitor:
            started.set()
            async for command in monitor.listen():
                seen.append(str(command.get("command", "")))

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(started.wait(), WAIT)
    await asyncio.sleep(0.1)
    for _ in range(20):
        assert (await api.get("/v1/users/me", headers=who.auth)).status_code == 200
    await redis.get("koo:monitor-probe")  # proves the watch sees commands
    await asyncio.sleep(0.1)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    assert any("koo:monitor-probe" in c for c in seen), seen[-5:]
    assert [c for c in seen if "koo:revoked-" in c] == []
    # And signing out still stops the token at once.
    assert (await api.delete("/v1/sessions/current", headers=who.auth)).status_code == 200
    after = await api.get("/v1/users/me", headers=who.auth)
    assert after.status_code == 401
    assert after.json()["error"]["details"][0]["reason"] == "TOKEN_REVOKED"


async def test_readiness_says_whether_the_list_is_in_memory(api: httpx.AsyncClient) -> None:
    ready = await api.get("/readyz")
    assert ready.json()["checks"]["revocations"] == "OK"


async def test_readiness_says_when_the_list_is_out_of_step(tmp_path: Path) -> None:
    # A gateway whose Redis does not answer starts anyway, and says what that costs.
    app = create_app(GatewaySettings(env="test", data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            body = (await client.get("/readyz")).json()
    assert body["checks"]["revocations"] == "OUT OF STEP"
    assert "in-memory revocation list (each request asks Redis)" in body["degraded"]
