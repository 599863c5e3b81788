"""The faults of issue 12, each under a steady posting load, each ending with the check
that every acknowledged post is in the database, every follower's feed, search and the
counters. `quick` ones run in CI (`python -m tests.chaos --quick`), the others with
`python -m tests.chaos`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.chaos.load import Member, community
from tests.chaos.platform import Chaos, chaos_platform
from tests.chaos.scenario import Recovery, recovery, report, run

FULL = os.environ.get("KOO_CHAOS") == "all"
# Issue 12's target is 5 s; on a loaded machine a Python process takes longer to start,
# so the bound is a setting (the figure measured is reported either way).
SERVING_AGAIN_WITHIN = float(os.environ.get("KOO_CHAOS_SERVING_WITHIN", "5"))


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    with chaos_platform(tmp_path) as running:
        yield running


def dead_letters(chaos: Chaos) -> dict[str, int]:
    with redis.Redis(unix_socket_path=str(chaos.redis.socket)) as client:
        return {key.decode(): int(client.xlen(key)) for key in client.scan_iter("koo:events:*:dlq:*")}


@pytest.mark.quick
async def test_a_malformed_event_is_parked_and_nothing_else_stops(chaos: Chaos) -> None:
    async def fault() -> None:
        with redis.Redis(unix_socket_path=str(chaos.redis.socket)) as client:
            client.xadd("koo:events:post", {"id": "x", "type": "post.created", "data": "{not json"})

    out = await run(chaos, fault)
    parked = dead_letters(chaos)
    report(
        "malformed event",
        acknowledged=len(out.load.acked),
        missing=out.missing,
        converged_s=round(out.converged_s, 1),
        parked=parked,
    )
    assert not out.missing, f"{out.missing} ({out.load.summary()})"
    # Every group that reads `post` parked it, at once (not after retries).
    assert parked and all(n == 1 for n in parked.values()), parked


async def refused_for(client: httpx.AsyncClient, reader: Member, path: str) -> float:
    """From now (the service answers SERVING), how long the gateway still refuses calls to
    it with 503 (its channels must re-dial quickly)."""
    serving = time.monotonic()
    while time.monotonic() - serving < 30:
        answer = await client.get(path, headers=reader.auth)
        if answer.status_code == 200:
            break
        assert answer.status_code == 503 and answer.headers.get("retry-after"), answer.text
        await asyncio.sleep(0.02)
    return time.monotonic() - serving


@pytest.mark.quick
async def test_killed_processes_come_back_and_lose_nothing(chaos: Chaos) -> None:
    back: dict[str, Recovery] = {}
    gap: dict[str, float] = {}

    async def fault() -> None:
        async with httpx.AsyncClient(base_url=chaos.base_url, timeout=10) as client:
            (reader,) = await community(client, 1)
            made = await client.post("/v1/posts", headers=reader.auth, json={"text": "read back after a restart"})
            made.raise_for_status()
            for name in ("feed-worker", "post", "gateway"):
                old = chaos.kill(name)
                back[name] = await recovery(chaos, name, old_pid=old)
                if name == "post":
                    gap[name] = await refused_for(client, reader, f"/v1/posts/{made.json()['id']}")

    out = await run(chaos, fault, after=3.0)
    report(
        "kill -9",
        acknowledged=len(out.load.acked),
        refused=dict(out.load.refused),
        restarted_after_s={k: round(v.restarted_s, 2) for k, v in back.items()},
        serving_after_s={k: round(v.serving_s, 2) for k, v in back.items()},
        refused_after_serving_s={k: round(v, 2) for k, v in gap.items()},
        missing=out.missing,
        converged_s=round(out.converged_s, 1),
    )
    assert not out.missing, f"{out.missing} ({out.load.summary()})"
    # The supervisor starts a new process at once; how long that process takes to serve
    # is Python's start-up on this machine (measured, see docs/reliability.md).
    assert all(v.restarted_s <= 1.0 for v in back.values()), back
    assert all(v.serving_s <= SERVING_AGAIN_WITHIN for v in back.values()), back
    assert gap["post"] <= 2.0, gap  # clients see 503s for at most 2 s after it serves again
    assert 500 not in out.load.refused, out.load.summary()


@pytest.mark.quick
async def test_a_database_outage_delays_but_loses_nothing(chaos: Chaos) -> None:
    # CI: 8 s, several times the consumers' claim interval; the full set: 150 s, longer
    # than the old 5 deliveries x 30 s that dead-lettered healthy events.
    outage = 150.0 if FULL else 8.0

    async def fault() -> None:
        await asyncio.to_thread(chaos.postgres.stop)
        await asyncio.sleep(outage)
        await asyncio.to_thread(chaos.postgres.start)

    started = time.monotonic()
    out = await run(chaos, fault, settle=90.0)
    parked = dead_letters(chaos)
    report(
        "database outage",
        outage_s=outage,
        acknowledged=len(out.load.acked),
        refused=dict(out.load.refused),
        missing=out.missing,
        converged_s=round(out.converged_s, 1),
        parked=parked,
        total_s=round(time.monotonic() - started, 1),
    )
    assert not out.missing, f"{out.missing} ({out.load.summary()})"
    assert not any(parked.values()), parked
    assert 500 not in out.load.refused, out.load.summary()


async def test_redis_losing_its_data_loses_no_side_effect(chaos: Chaos) -> None:
    consumers = ("feed-worker", "search-indexer", "user")

    async def fault() -> None:
        # Hold the consumers so that published events are still unconsumed, then lose
        # every stream (a Redis that keeps nothing on disk, restarted).
        for name in consumers:
            chaos.pause(name)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(chaos.redis.kill)
        await asyncio.to_thread(chaos.redis.start)
        for name in consumers:
            chaos.resume(name)

    out = await run(chaos, fault, settle=90.0)
    report(
        "redis data loss",
        acknowledged=len(out.load.acked),
        refused=dict(out.load.refused),
        missing=out.missing,
        converged_s=round(out.converged_s, 1),
    )
    assert not out.missing, f"{out.missing} ({out.load.summary()})"
