"""Fixtures shared by every test: real backends, migrated once per run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from services.kit.migrations import upgrade_all
from services.kit.redis_client import create_redis
from tests.backends import test_database, test_redis
from tests.harness import Stack

os.environ.setdefault("KOO_ENV", "test")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder for the run (dev JWT keys, media files, embedded servers)."""
    return tmp_path_factory.mktemp("koo-data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    with test_database(data_dir) as url:
        upgrade_all(url)
        yield url


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    with test_redis(data_dir) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = create_redis(redis_url)
    yield client
    await client.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(database_url: str, redis_url: str, data_dir: Path) -> AsyncIterator[Stack]:
    """All five services, started once per run on real sockets."""
    from tests.harness import start_stack

    running = await start_stack(database_url=database_url, redis_url=redis_url, data_dir=data_dir)
    yield running
    await running.close()
