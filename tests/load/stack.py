"""Koo as separate processes, started the way `koo up` starts them, on free ports.

For the end-to-end benchmark test and the scale scripts: each process is
`python -m koo_cli.main serve <name>` with its own port and the peers' addresses in the
environment, and `<data-dir>/runtime.json` is written as `koo up` writes it, so
`koo seed` and `koo bench --data-dir <data-dir>` find this platform like any other.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.kit.auth import ensure_dev_keys
from services.kit.migrations import upgrade_all
from services.kit.roster import PROCESSES, SERVICES, Process

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical database (keeps streams apart from other stacks)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


@dataclass
class ProcStack:
    data_dir: Path
    database_url: str
    redis_url: str
    ports: dict[str, int]
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.get('gateway', 0)}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KOO_DATA_DIR": str(self.data_dir),
            "KOO_DATABASE_URL": self.database_url,
            "KOO_REDIS_URL": self.redis_url,
            "PYTHONPATH": str(REPO_ROOT),
            **{f"KOO_{name.upper()}_ADDR": f"127.0.0.1:{self.ports[name]}" for name in SERVICES},
        }


def _serving(proc: Process, port: int) -> bool:
    if proc.kind == "http":
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False
    if proc.kind != "grpc":
        return True
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=proc.health_name), timeout=1
            )
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@contextmanager
def proc_stack(
    *,
    data_dir: Path,
    database_url: str,
    redis_url: str,
    extra_env: dict[str, str] | None = None,
    skip: tuple[str, ...] = (),
    timeout: float = 90,
) -> Iterator[ProcStack]:
    """Migrate, start every available process, wait for SERVING, write runtime.json; stop on exit."""
    upgrade_all(database_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in PROCESSES if p.available() and p.in_up and p.name not in skip]
    ensure_dev_keys(data_dir)  # before any child: signer and verifiers must share one key
    stack = ProcStack(data_dir, database_url, redis_url, {p.name: free_port() for p in chosen})
    env = {**stack.env(), **(extra_env or {})}
    try:
        for proc in chosen:
            stack.children[proc.name] = subprocess.Popen(
                [sys.executable, "-m", "koo_cli.main", "serve", proc.name],
                env={**env, "KOO_PORT": str(stack.ports[proc.name])},
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        waiting = list(chosen)
        while waiting:
            for name, child in stack.children.items():
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {child.returncode} while starting")
            waiting = [p for p in waiting if not _serving(p, stack.ports[p.name])]
            if time.monotonic() > deadline:
                raise RuntimeError(f"not serving after {timeout:.0f}s: {[p.name for p in waiting]}")
            time.sleep(0.2)
        info = {
            "pid": os.getpid(),
            "data_dir": str(data_dir),
            "database_url": database_url,
            "redis_url": redis_url,
            "processes": {
                p.name: {"pid": stack.children[p.name].pid, "port": stack.ports[p.name], "kind": p.kind} for p in chosen
            },
        }
        (data_dir / "runtime.json").write_text(json.dumps(info, indent=2))
        yield stack
    finally:
        (data_dir / "runtime.json").unlink(missing_ok=True)
        for child in stack.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in stack.children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


def main() -> None:
    """`python -m tests.load.stack --data-dir D --database-url U --redis-url R`: run until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for every process (repeatable)")
    parser.add_argument("--skip", action="append", default=[], help="a process not to start (repeatable)")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with proc_stack(
        data_dir=args.data_dir,
        database_url=args.database_url,
        redis_url=args.redis_url,
        extra_env=extra,
        skip=tuple(args.skip),
    ) as stack:
        print(json.dumps({"gateway": stack.gateway_url, "ports": stack.ports}), flush=True)
        while not stopping and all(c.poll() is None for c in stack.children.values()):
            time.sleep(0.5)


if __name__ == "__main__":
    main()
