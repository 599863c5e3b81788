"""Scale runs: home-timeline reads as the posts table grows, and Redis bytes per entry.

    python -m tests.load.scale [--users 100000] [--posts-per-user 1,10,100] [--rate 200]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379/0]
        [--fanout] [--search]

Method:
- A fresh database (named koo_scale_<random> on the given server) and a Redis logical
  database of its own; the platform runs as separate processes started like `koo up`
  (tests/load/stack.py), with production settings except the per-IP rate limit (all load
  comes from one address).
- The same power-law graph (`koo seed --graph powerlaw --users N`) is loaded with 1, then
  10, then 100 posts per user on average (100k users: 100,000 -> 1,000,000 -> 10,000,000
  posts): each step extends the previous one (the seeder resumes and adds older posts),
  then rebuilds the active users' home timelines (newest 800 each, in Redis).
- After each step: `koo bench --workload home` at a fixed, moderate rate (open loop,
  Poisson) for the home-timeline latency, and MEMORY USAGE over a sample of timelines for
  Redis bytes per entry.
- `--fanout` runs the feed engineer's tests/load/fanout_bench.py (fanout delay by author
  size), `--search` the search engineer's tests/load/search_bench.py at 1,000,000 posts:
  reused as they are, their output appended to the report.

Writes `scale-<time>.json` in --out (default ./scale-results) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from koo_cli.benchkit.population import read_population
from services.feed.keys import FeedKeys
from services.kit.redis_client import create_redis
from tests.load.stack import REPO_ROOT, proc_stack, redis_db


def koo(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a `koo` command as a user would; its output, or an error with it."""
    result = subprocess.run(
        [sys.executable, "-m", "koo_cli.main", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"koo {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


async def timeline_bytes(redis_url: str, user_ids: list[int]) -> dict[str, float]:
    """MEMORY USAGE (all samples) over the given users' home timelines, per entry."""
    redis = create_redis(redis_url)
    keys = FeedKeys()
    total_bytes = 0
    total_entries = 0
    encodings: dict[str, int] = {}
    try:
        for uid in user_ids:
            key = keys.home(uid)
            size = await redis.memory_usage(key, samples=0)
            if not size:
                continue
            entries = int(await redis.zcard(key)) - 1  # the sentinel
            encoding = await redis.object("encoding", key)
            name = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
            encodings[name] = encodings.get(name, 0) + 1
            total_bytes += int(size)
            total_entries += max(0, entries)
    finally:
        await redis.aclose()
    return {
        "timelines": sum(encodings.values()),
        "entries": total_entries,
        "mean_entries": round(total_entries / max(1, sum(encodings.values())), 1),
        "bytes_per_entry": round(total_bytes / max(1, total_entries), 1),
        "encodings": encodings,  # type: ignore[dict-item]
    }


def run_step(
    *,
    data_dir: Path,
    users: int,
    ppu: float,
    active: int,
    rate: float,
    duration: float,
    out: Path,
    redis_url: str,
    search: int,
) -> dict[str, Any]:
    started = time.monotonic()
    seed_out = koo(
        "seed",
        "--graph",
        "powerlaw",
        "--users",
        str(users),
        "--posts-per-user",
        f"{ppu:g}",
        "--search-posts",
        str(search),
        "--active-users",
        str(active),
        "--no-progress",
        "--data-dir",
        str(data_dir),
    )
    seed_seconds = time.monotonic() - started
    report = json.loads(seed_out[seed_out.index("{\n") :])
    bench_out = out / f"home-{int(users * ppu)}"
    koo(
        "bench",
        "--workload",
        "home",
        "--rates",
        f"{rate:g}",
        "--duration",
        f"{duration:g}",
        "--warmup",
        "5",
        "--no-baseline",
        "--no-plot",
        "--graph",
        "powerlaw",
        "--out",
        str(bench_out),
        "--data-dir",
        str(data_dir),
    )
    [result_file] = sorted(bench_out.glob("bench-*.json"))[-1:]
    run = json.loads(result_file.read_text())["runs"][0]
    _, population = read_population(data_dir, "powerlaw")
    sample = [uid for uid, _ in random.Random(3).sample(population, min(2000, len(population)))]
    memory = asyncio.run(timeline_bytes(redis_url, sample))
    return {
        "posts": int(users * ppu),
        "seed_seconds": round(seed_seconds, 1),
        "seed_stages": report.get("seconds"),
        "home": {
            "offered_rps": run["offered_rps"],
            "achieved_rps": run["achieved_rps"],
            "latency": run["latency"],
            "service_latency": run["service_latency"],
            "errors": run["errors"],
            "cpu_percent_of_one_core": run["cpu_percent_of_one_core"],
        },
        "redis_timelines": memory,
    }


async def flush_db(redis_url: str) -> None:
    redis = create_redis(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts-per-user", default="1,10,100")
    parser.add_argument("--active-users", type=int, default=20_000, help="home timelines built in Redis")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--search-posts", type=int, default=0, help="posts indexed for search at each step")
    parser.add_argument("--database-url", default=os.environ.get("KOO_TEST_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("KOO_TEST_REDIS_URL", ""))
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--out", type=Path, default=Path("scale-results"))
    parser.add_argument("--fanout", action="store_true", help="also run tests/load/fanout_bench.py")
    parser.add_argument("--search", action="store_true", help="also run tests/load/search_bench.py (1M posts)")
    args = parser.parse_args()
    if not args.database_url or not args.redis_url:
        parser.error("--database-url and --redis-url (or KOO_TEST_DATABASE_URL / KOO_TEST_REDIS_URL) are required")
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"koo_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, query = args.database_url.partition("?")
    scheme, _, rest = head.partition("://")
    database_url = f"{scheme}://{rest.split('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    redis_url = redis_db(args.redis_url, args.redis_db)
    asyncio.run(flush_db(redis_url))
    steps: list[dict[str, Any]] = []
    extra: dict[str, str] = {}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="koo-scale-") as tmp,
            proc_stack(
                data_dir=Path(tmp) / "data",
                database_url=database_url,
                redis_url=redis_url,
                extra_env={"KOO_RATE_IP": "off", "KOO_LOG_LEVEL": "WARNING"},
            ),
        ):
            for ppu in [float(x) for x in args.posts_per_user.split(",")]:
                step = run_step(
                    data_dir=Path(tmp) / "data",
                    users=args.users,
                    ppu=ppu,
                    active=args.active_users,
                    rate=args.rate,
                    duration=args.duration,
                    out=args.out,
                    redis_url=redis_url,
                    search=args.search_posts,
                )
                steps.append(step)
                lat = step["home"]["latency"]
                print(
                    f"{step['posts']:>11,} posts  seed {step['seed_seconds']:>7.1f}s  home p50 {lat.get('p50_ms')} ms "
                    f"p99 {lat.get('p99_ms')} ms  errors {step['home']['errors']['total']}  "
                    f"redis {step['redis_timelines']['bytes_per_entry']} B/entry",
                    flush=True,
                )
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        asyncio.run(flush_db(redis_url))
    if args.fanout:
        extra["fanout_bench"] = subprocess.run(
            [sys.executable, "-m", "tests.load.fanout_bench"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    if args.search:
        extra["search_bench"] = subprocess.run(
            [sys.executable, "-m", "tests.load.search_bench", "--posts", "1000000"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    first = steps[0]["home"]["latency"].get("p50_ms") if steps else None
    last = steps[-1]["home"]["latency"].get("p50_ms") if steps else None
    report = {
        "at": datetime.now(UTC).isoformat(),
        "users": args.users,
        "rate": args.rate,
        "steps": steps,
        "home_p50_ratio_last_to_first": round(last / first, 2) if first and last else None,
        **extra,
    }
    path = args.out / f"scale-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in extra}, indent=2)[:4000])
    print(f"report: {path}")
    for text in extra.values():
        print(text)


if __name__ == "__main__":
    main()
