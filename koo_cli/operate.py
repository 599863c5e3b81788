"""Operator commands: `koo events` (consumer groups, dead letters, replay) and `koo reconcile`.

They find the backends as `koo seed` does: KOO_DATABASE_URL / KOO_REDIS_URL, else the
runtime.json of a running `koo up --data-dir ...`. See docs/reliability.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
from redis.asyncio import Redis

from koo_cli.benchkit.runtime import find_runtime
from services.kit.settings import default_data_dir

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=default_data_dir,
    show_default="~/.local/share/koo",
    help="The data folder of the `koo up` to operate on (unless KOO_DATABASE_URL/KOO_REDIS_URL are set).",
)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _groups(redis: Redis) -> list[tuple[str, str]]:
    """(topic, group) of every consumer group on an event stream."""
    found: list[tuple[str, str]] = []
    async for key in redis.scan_iter(match="koo:events:*"):
        name = _text(key)
        if name.count(":") != 2:  # koo:events:<topic>; dead-letter streams have more parts
            continue
        if _text(await redis.type(key)) != "stream":
            continue
        for group in await redis.xinfo_groups(name):
            found.append((name.split(":")[2], _text(group["name"])))
    return sorted(found)


@click.group()
def events() -> None:
    """Event streams: consumer lag, dead letters, replay."""


@events.command("status")
@data_dir_option
def events_status(data_dir: Path) -> None:
    """Lag, pending and dead letters of every consumer group."""
    from services.kit.events import group_stats
    from services.kit.redis_client import create_redis

    runtime = find_runtime(data_dir)

    async def show() -> None:
        redis = create_redis(runtime.redis_url)
        try:
            click.echo(f"{'topic':<8} {'group':<20} {'lag':>7} {'pending':>8} {'oldest':>8} {'dead':>6}")
            for topic, group in await _groups(redis):
                s = await group_stats(redis, topic, group)
                oldest = f"{s.oldest_unacked_seconds:.0f}s" if s.pending else "-"
                click.echo(f"{topic:<8} {group:<20} {s.lag:>7} {s.pending:>8} {oldest:>8} {s.dead_letters:>6}")
        finally:
            await redis.aclose()

    asyncio.run(show())


@events.command("dead-letters")
@data_dir_option
@click.argument("topic")
@click.argument("group")
@click.option("--limit", default=20, show_default=True)
def events_dead_letters(data_dir: Path, topic: str, group: str, limit: int) -> None:
    """The events GROUP parked from TOPIC, with why."""
    from services.kit.event_types import UndecodableEvent
    from services.kit.events import dead_letter_stream, decode_entry
    from services.kit.redis_client import create_redis

    runtime = find_runtime(data_dir)

    async def show() -> None:
        redis = create_redis(runtime.redis_url)
        try:
            entries: Any = await redis.xrange(dead_letter_stream(topic, group), count=limit)
            for entry_id, fields in entries:
                reason = _text(fields.get(b"dlq_reason", b""))
                original = {k: v for k, v in fields.items() if not _text(k).startswith("dlq_")}
                try:
                    event = decode_entry("0-1", original)
                    what = f"{event.event_type} {event.event_id}"
                except UndecodableEvent:
                    what = "undecodable"
                click.echo(f"{_text(entry_id)}  {what}  ({reason})")
        finally:
            await redis.aclose()

    asyncio.run(show())


@events.command("replay")
@data_dir_option
@click.argument("topic")
@click.argument("group")
def events_replay(data_dir: Path, topic: str, group: str) -> None:
    """Put the events GROUP parked from TOPIC back on the stream (after fixing the cause)."""
    from services.kit.events import dead_letter_stream, replay_dead_letters
    from services.kit.redis_client import create_redis

    runtime = find_runtime(data_dir)

    async def replay() -> None:
        redis = create_redis(runtime.redis_url)
        try:
            count = await replay_dead_letters(redis, topic=topic, group=group)
            left = await redis.xlen(dead_letter_stream(topic, group))
            click.echo(f"replayed {count} event(s); {left} left (still undecodable)" if left else f"replayed {count}")
        finally:
            await redis.aclose()

    asyncio.run(replay())


@click.command()
@data_dir_option
@click.option("--window", default=86400.0, show_default=True, help="Seconds of posts whose search entries are checked.")
def reconcile(data_dir: Path, window: float) -> None:
    """Make the search index and post counters agree with PostgreSQL (anti-entropy), now."""
    from services.kit.db import create_engine
    from services.kit.redis_client import create_redis
    from services.search.backends import open_backend
    from services.search.reconcile import reconcile_search
    from services.search.settings import SearchSettings
    from services.user.reconcile import reconcile_post_counts

    runtime = find_runtime(data_dir)

    async def run() -> None:
        engine = create_engine(runtime.database_url, pool_size=2)
        redis = create_redis(runtime.redis_url)
        backend = await open_backend(SearchSettings(database_url=runtime.database_url), engine)
        try:
            searched = await reconcile_search(engine, backend, window_seconds=window)
            click.echo(
                f"search: {searched.checked} posts checked, {searched.indexed} indexed, {searched.deleted} deletions applied"
            )
            counted = await reconcile_post_counts(engine, redis)
            if counted.skipped:
                click.echo(f"post counts: not changed, {counted.skipped}; run again shortly")
            else:
                click.echo(f"post counts: {counted.checked} users checked, {counted.fixed} fixed")
        finally:
            await backend.close()
            await redis.aclose()
            await engine.dispose()

    asyncio.run(run())
