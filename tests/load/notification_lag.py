"""Notification lag under `koo bench`'s compose rate: how long after a reply is accepted
its author's notification reaches the recipient's open live stream.

    python -m tests.e2e.platform -- python -m tests.load.notification_lag [--rate 20] [--seconds 60]
    KOO_E2E_URL=http://127.0.0.1:8080 python -m tests.load.notification_lag   # a running `koo up`

`--recipients` accounts each publish one post and keep `GET /v1/notifications:stream` open
(server-sent events); `--rate` replies per second (Poisson arrivals, open loop: a slow
answer does not slow the arrivals) go to those posts from `--writers` accounts. Lag is from
the moment `POST /v1/posts` answered 201 (the reply and its event are committed) to the
moment the recipient's stream delivers the entry whose newest reply is that post. The
default rate, 20/s, is the compose rate `koo bench --workload compose` sustains within its
latency objective on the reference machine (docs/performance.md). Prints JSON: counts,
lag p50/p90/p99/max in milliseconds, and the compose latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from typing import Any

import httpx

PASSWORD = "notification-lag"


async def _account(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    handle = f"{name}_{uuid.uuid4().hex[:8]}"
    created = await client.post(
        "/v1/users", json={"handle": handle, "password": PASSWORD, "display_name": name, "languages": ["hi"]}
    )
    created.raise_for_status()
    session = await client.post("/v1/sessions", json={"handle": handle, "password": PASSWORD})
    session.raise_for_status()
    return {"id": created.json()["id"], "auth": f"Bearer {session.json()['access_token']}"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(url: str, *, rate: float, seconds: float, recipients: int, writers: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=recipients + 64)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None), limits=limits) as client:
        readers = [await _account(client, "reader") for _ in range(recipients)]
        authors = [await _account(client, "writer") for _ in range(writers)]
        posts = []
        for reader in readers:
            made = await client.post("/v1/posts", headers={"authorization": reader["auth"]}, json={"text": "सुनो"})
            made.raise_for_status()
            posts.append(made.json()["id"])

        accepted: dict[str, float] = {}  # reply id -> when its 201 arrived
        replied_to: dict[str, str] = {}  # reply id -> the post it replies to
        # Per post, the entries the stream delivered: (newest reply in it, when). Replies to one
        # post are one entry, so an entry also delivers every earlier reply it now counts.
        arrivals: dict[str, list[tuple[int, float]]] = {}
        delivered: dict[str, float] = {}
        ready = asyncio.Event()
        arrived = asyncio.Event()
        opened = 0

        async def listen(reader: dict[str, str]) -> None:
            nonlocal opened
            headers = {"authorization": reader["auth"]}
            async with client.stream("GET", "/v1/notifications:stream", headers=headers) as response:
                response.raise_for_status()
                opened += 1
                if opened == len(readers):
                    ready.set()
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        entry = json.loads(line[6:]).get("notification", {})
                        now = time.monotonic()
                        arrivals.setdefault(entry.get("post_id", ""), []).append(
                            (int(entry.get("latest_post_id") or 0), now)
                        )
                        for reply, post in replied_to.items():
                            newest = int(entry.get("latest_post_id") or 0)
                            if reply not in delivered and post == entry.get("post_id") and int(reply) <= newest:
                                delivered[reply] = now
                        arrived.set()

        listeners = [asyncio.create_task(listen(r)) for r in readers]
        await asyncio.wait_for(ready.wait(), 30)
        compose_ms: list[float] = []
        errors = 0

        async def compose(i: int) -> None:
            nonlocal errors
            target = rng.randrange(len(readers))
            writer = authors[i % len(authors)]
            started = time.monotonic()
            answer = await client.post(
                "/v1/posts",
                headers={"authorization": writer["auth"]},
                json={"text": f"जवाब {i}", "reply_to_id": posts[target]},
            )
            if answer.status_code != 201:
                errors += 1
                return
            done = time.monotonic()
            compose_ms.append((done - started) * 1000)
            reply_id = answer.json()["id"]
            accepted[reply_id] = done
            replied_to[reply_id] = posts[target]
            # The stream may have delivered it before this 201 was read.
            for newest, when in arrivals.get(posts[target], []):
                if newest >= int(reply_id):
                    delivered.setdefault(reply_id, when)
                    break

        sends: list[asyncio.Task[None]] = []
        deadline = time.monotonic() + seconds
        next_at = time.monotonic()
        i = 0
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            sends.append(asyncio.create_task(compose(i)))
            i += 1
            next_at += rng.expovariate(rate)
        await asyncio.gather(*sends)
        settle = time.monotonic() + 30
        while not set(accepted) <= set(delivered) and time.monotonic() < settle:
            arrived.clear()
            # Woken by each delivery; gives up 30 s after the last reply was sent.
            try:
                await asyncio.wait_for(arrived.wait(), max(0.01, settle - time.monotonic()))
            except TimeoutError:
                break
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)

    # A reply answered after its notification arrived counts as lag 0 (the stream won the race).
    lags = [max(0.0, (delivered[r] - t) * 1000) for r, t in accepted.items() if r in delivered]
    return {
        "url": url,
        "rate_per_s": rate,
        "seconds": seconds,
        "replies_sent": i,
        "replies_accepted": len(accepted),
        "compose_errors": errors,
        "notifications_delivered": len(lags),
        "missing": len(accepted) - len(lags),
        "lag_ms": {
            "p50": round(statistics.median(lags), 1) if lags else None,
            "p90": round(_percentile(lags, 0.90), 1) if lags else None,
            "p99": round(_percentile(lags, 0.99), 1) if lags else None,
            "max": round(max(lags), 1) if lags else None,
        },
        "compose_ms": {
            "p50": round(statistics.median(compose_ms), 1) if compose_ms else None,
            "p99": round(_percentile(compose_ms, 0.99), 1) if compose_ms else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("KOO_E2E_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--rate", type=float, default=20.0, help="replies per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.url,
            rate=args.rate,
            seconds=args.seconds,
            recipients=args.recipients,
            writers=args.writers,
            seed=args.seed,
        )
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
