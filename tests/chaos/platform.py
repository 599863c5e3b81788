"""The platform as `koo up` starts it, on the scenario's own PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.kit.roster import PROCESSES
from tests.chaos.backends import OwnPostgres, OwnRedis
from tests.e2e.platform import TEST_ENV, Platform, _stop, _wait_ready, free_port

# Budgets out of the way (the load and the checks are many requests from one address).
CHAOS_ENV: dict[str, str] = {
    **TEST_ENV,
    "KOO_LOG_LEVEL": "WARNING",
    "KOO_RATE_READ": "off",
    "KOO_RATE_WRITE": "off",
    "KOO_RATE_LOGIN": "off",
    "KOO_RATE_SIGNUP": "off",
}


@dataclass
class Chaos:
    """A running platform and the handles to hurt it."""

    platform: Platform
    postgres: OwnPostgres
    redis: OwnRedis
    koo_up: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return self.platform.base_url

    def pid(self, name: str) -> int:
        """The current pid of one of koo up's processes (runtime.json follows restarts)."""
        info = json.loads((self.platform.data_dir / "runtime.json").read_text())
        return int(info["processes"][name]["pid"])

    def kill(self, name: str) -> int:
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def pause(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGCONT)

    def log(self) -> str:
        return self.platform.log_path.read_text(errors="replace")


@contextlib.contextmanager
def chaos_platform(tmp: Path, *, env: dict[str, str] | None = None) -> Iterator[Chaos]:
    postgres = OwnPostgres(tmp / "backends")
    redis = OwnRedis(tmp / "backends")
    try:
        ports = {p.name: free_port() for p in PROCESSES}
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("KOO_")}
        child_env.update(CHAOS_ENV)
        child_env.update({p.port_env: str(ports[p.name]) for p in PROCESSES})
        child_env["KOO_DATABASE_URL"] = postgres.url
        child_env["KOO_REDIS_URL"] = redis.url
        child_env.update(env or {})
        data_dir = tmp / "koo"
        log_path = tmp / "koo-up.log"
        platform = Platform(f"http://127.0.0.1:{ports['gateway']}", ports, data_dir, log_path, child_env)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "koo_cli.main", "up", "--data-dir", str(data_dir)],
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                _wait_ready(platform, process, "/readyz")
                yield Chaos(platform, postgres, redis, process)
            finally:
                _stop(process)
    finally:
        redis.close()
        postgres.close()
