"""Overload is shed, not queued: home reads at 5 x capacity keep goodput near capacity,
every refusal is a 429/503 with Retry-After, no 500, and latency is normal again right
after the load stops. Load from wrk (installed by .ci/run)."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chaos.load import community, post_steadily
from tests.chaos.platform import Chaos, chaos_platform
from tests.chaos.scenario import report

LUA = Path(__file__).with_name("overload.lua")
pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    with chaos_platform(tmp_path) as running:
        yield running


def wrk(base_url: str, tokens: Path, *, connections: int, seconds: int, rate: float) -> dict[str, int]:
    """Home reads at `rate` a second (open loop), or as fast as `connections` allow when
    `rate` is 0; answers counted by status (and transport errors)."""
    threads = min(2, connections)
    per_thread = rate / threads if rate else 1e9  # 1e9: no waiting, closed loop
    options = ["-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    # At the lowest CPU priority: the load generator takes what the platform leaves, as
    # clients on their own machines would (it shares this one's two cores). Whether it
    # still offered the load asked for is checked by the caller.
    command = ["nice", "-n", "19", "wrk", *options, "-s", str(LUA), base_url, "--", str(tokens), str(per_thread)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    counts: dict[str, int] = {}
    for line in out.splitlines():
        if line.startswith(("KOO-COUNTS ", "KOO-ERRORS ")):
            prefix = "" if line.startswith("KOO-COUNTS") else "error-"
            counts.update({prefix + k: v for k, v in json.loads(line.split(" ", 1)[1]).items()})
    return counts


async def median_latency(client: httpx.AsyncClient, token: str, n: int = 20) -> float:
    took: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get("/v1/feed/home?page_size=20", headers={"authorization": f"Bearer {token}"})
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return statistics.median(took)


# Not in the quick subset: its goodput depends on the CPU the load generator leaves the
# platform, too noisy for CI on a shared machine (docs/reliability.md has the figures).
async def test_home_reads_at_five_times_capacity_are_shed_not_queued(chaos: Chaos, tmp_path: Path) -> None:
    seconds = 20
    async with httpx.AsyncClient(base_url=chaos.base_url, timeout=30) as client:
        members = await community(client, 20)
        # Something to read: a few posts each.
        from tests.chaos.load import Load

        stop = asyncio.Event()
        poster = asyncio.create_task(post_steadily(client, members, Load(), rate=20, stop=stop))
        await asyncio.sleep(3)
        stop.set()
        await poster
        tokens = tmp_path / "tokens"
        tokens.write_text("\n".join(m.token for m in members) + "\n")
        normal = await median_latency(client, members[0].token)

        # 10 s: a capacity measured over 5 s varied by ±3 % from run to run.
        calm = await asyncio.to_thread(wrk, chaos.base_url, tokens, connections=16, seconds=10, rate=0)
        capacity = calm.get("200", 0) / 10
        assert capacity > 0, calm
        # Enough connections that one is free at every slot: admitted calls may wait up to
        # KOO_ADMISSION_WAIT (0.5 s) in the queue.
        stormy = await asyncio.to_thread(
            wrk, chaos.base_url, tokens, connections=500, seconds=seconds, rate=5 * capacity
        )
        goodput = stormy.get("200", 0) / seconds
        await asyncio.sleep(2)  # "normal latency within 2 s after the load stops"
        after = await median_latency(client, members[0].token)
    offered = sum(v for k, v in stormy.items() if not k.startswith("error-")) / seconds
    report(
        "overload",
        capacity_per_s=round(capacity, 1),
        offered_per_s=round(offered, 1),
        goodput_per_s=round(goodput, 1),
        goodput_of_capacity=round(goodput / capacity, 2),
        answers=stormy,
        normal_median_ms=round(normal * 1000, 1),
        median_2s_after_ms=round(after * 1000, 1),
        seconds=seconds,
    )
    refusals = {k: v for k, v in stormy.items() if k != "200" and not k.startswith("error-")}
    assert set(refusals) <= {"429", "503"}, stormy  # no 500, no 504, none without Retry-After
    assert offered >= 4.5 * capacity, (offered, capacity)  # the load generator kept up
    assert goodput >= 0.9 * capacity, stormy
    assert after <= 2 * normal + 0.05, (normal, after)
