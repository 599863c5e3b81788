"""Run the whole platform the way `koo up` runs it, on free ports, for HTTP tests.

`running_platform()` starts `koo up --data-dir <tmp>` as a subprocess with every process
moved to a free port (KOO_<NAME>_PORT), PostgreSQL from the test backends (a database of
its own) and an embedded Redis (its own, so that other stacks' event consumers sharing a
Redis cannot steal this platform's events), waits for GET /readyz, and stops it with
SIGINT (Ctrl-C) at the end.

Also a command: `python -m tests.e2e.platform -- <command...>` runs the command with
KOO_E2E_URL set to the gateway's base URL (the schemathesis and load scripts use it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.kit.roster import PROCESSES
from tests.backends import test_database

READY_TIMEOUT = 120.0

# Settings for a test platform: cheap password hashing, budgets that a suite creating
# many accounts from one address does not hit (tests that want a 429 use their own).
TEST_ENV: dict[str, str] = {
    "KOO_ENV": "test",
    "KOO_LOG_LEVEL": "WARNING",
    "KOO_SHUTDOWN_GRACE": "1",
    "KOO_ARGON2_TIME_COST": "1",
    "KOO_ARGON2_MEMORY_KIB": "8192",
    "KOO_ARGON2_PARALLELISM": "1",
    "KOO_RATE_IP": "off",
    "KOO_RATE_SIGNUP": "100000/hour",
    "KOO_RATE_LOGIN": "100000/minute",
    "KOO_RATE_WRITE": "100000/minute",
    "KOO_RATE_MEDIA": "100000/hour",
    "KOO_RATE_READ": "300/minute",
    "KOO_RATE_LOGIN_FAILURES": "3/10m",
    # Reuse of a rotated refresh token is theft at once here (the grace has its own test).
    "KOO_REFRESH_REUSE_GRACE": "0",
    "KOO_MAX_BODY_BYTES": str(64 * 1024),
    "KOO_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024),
    "KOO_CORS_ORIGINS": "https://app.koo.example",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Platform:
    base_url: str
    ports: dict[str, int]
    data_dir: Path
    log_path: Path
    env: dict[str, str]

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_ready(platform: Platform, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"koo up exited with {process.returncode}:\n{platform.log_tail()}")
        try:
            answer = httpx.get(f"{platform.base_url}{path}", timeout=2)
            # `koo up` says so once every process it started is serving; /readyz says
            # "ready" once the gateway reaches every one of them (200 may be "degraded").
            ready = path != "/readyz" or answer.json().get("status") == "ready"
            if answer.status_code == 200 and ready and "Koo is up" in platform.log_tail(400):
                return
            last = answer.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise RuntimeError(f"not ready after {READY_TIMEOUT:.0f}s ({last}):\n{platform.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # what Ctrl-C does: koo up stops its children
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def running_platform(tmp: Path, *, env: dict[str, str] | None = None, only: tuple[str, ...] = ()) -> Iterator[Platform]:
    """The platform (or `only` some of its processes, then waiting for /healthz: /readyz
    wants every service)."""
    ports = {p.name: free_port() for p in PROCESSES}
    with test_database(tmp) as database_url:
        # A clean environment: nothing of the developer's own KOO_* settings leaks in.
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("KOO_")}
        child_env.update(TEST_ENV)
        child_env.update({p.port_env: str(ports[p.name]) for p in PROCESSES})
        child_env["KOO_DATABASE_URL"] = database_url
        if os.environ.get("KOO_E2E_REDIS_URL"):
            child_env["KOO_REDIS_URL"] = os.environ["KOO_E2E_REDIS_URL"]
        child_env.update(env or {})
        data_dir = tmp / "koo"
        only_args = [arg for name in only for arg in ("--only", name)]
        log_path = tmp / "koo-up.log"
        platform = Platform(f"http://127.0.0.1:{ports['gateway']}", ports, data_dir, log_path, child_env)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "koo_cli.main", "up", "--data-dir", str(data_dir), *only_args],
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                _wait_ready(platform, process, "/healthz" if only else "/readyz")
                yield platform
            finally:
                _stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a command against a fresh platform (KOO_E2E_URL).")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting of the platform")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"] or ["sleep", "infinity"]
    settings = dict(item.split("=", 1) for item in args.env)
    with (
        tempfile.TemporaryDirectory(prefix="koo-e2e-") as tmp,
        running_platform(Path(tmp), env=settings) as platform,
    ):
        print(f"koo is up at {platform.base_url}", file=sys.stderr, flush=True)
        result = subprocess.run(command, env={**os.environ, "KOO_E2E_URL": platform.base_url}, check=False)
        if result.returncode != 0:
            # The services' own logs say why a call failed; they vanish with the folder.
            kept = os.environ.get("KOO_E2E_KEEP_LOG")
            if kept:
                Path(kept).write_bytes(platform.log_path.read_bytes())
            print(f"--- koo up log (last lines) ---\n{platform.log_tail(80)}", file=sys.stderr, flush=True)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
