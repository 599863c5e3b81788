"""`koo up`: the whole platform on one machine, each service its own process.

Crashed processes are restarted and everything stops in order (koo_cli/supervisor.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from koo_cli.embedded import EmbeddedBackends
from koo_cli.supervisor import Supervisor
from services.kit.auth import ensure_dev_keys
from services.kit.migrations import upgrade_all
from services.kit.roster import PROCESSES, Process
from services.kit.workload import ensure_dev_service_key

STARTUP_TIMEOUT = 60.0
RUNTIME_FILE = "runtime.json"


def _write_runtime(data_dir: Path, env: dict[str, str], supervisor: Supervisor) -> None:
    """Tell other commands on this machine (`koo seed`, `koo bench`) where this platform runs."""
    info = {
        "pid": os.getpid(),
        "data_dir": str(data_dir),
        "database_url": env["KOO_DATABASE_URL"],
        "redis_url": env["KOO_REDIS_URL"],
        "processes": {
            c.proc.name: {"pid": c.popen.pid, "port": c.proc.port, "kind": c.proc.kind} for c in supervisor.children
        },
    }
    path = data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(info, handle, indent=2)
    tmp.replace(path)


def _serving(proc: Process) -> bool:
    if proc.kind == "http":
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/healthz", timeout=1) as resp:  # nosec B310
                return bool(resp.status == 200)
        except OSError:
            return False
    with grpc.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=proc.health_name), timeout=1
            )
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def run_up(data_dir: Path, only: tuple[str, ...], *, log_format: str = "json") -> None:
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["KOO_DATA_DIR"] = str(data_dir)
    env["KOO_LOG_FORMAT"] = log_format
    env.setdefault("KOO_ENV", "development")
    backends = EmbeddedBackends(data_dir)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    supervisor = Supervisor(report=lambda line: click.echo(line, err=True))
    try:
        if env.get("KOO_DATABASE_URL"):
            click.echo("postgres   external (KOO_DATABASE_URL)")
        else:
            env["KOO_DATABASE_URL"] = backends.start_postgres()
            click.echo(f"postgres   embedded, data in {data_dir / 'postgres'}")
        if env.get("KOO_REDIS_URL"):
            click.echo("redis      external (KOO_REDIS_URL)")
        else:
            env["KOO_REDIS_URL"] = backends.start_redis()
            click.echo(f"redis      embedded, data in {data_dir / 'redis.rdb'}")
        migrated = upgrade_all(env["KOO_DATABASE_URL"])
        click.echo(f"migrations applied: {', '.join(migrated)}")
        if env["KOO_ENV"] != "production" and not env.get("KOO_JWT_PUBLIC_KEYS_FILE"):
            # Made once here, before any child starts: the user service (signer) and every
            # verifier (services, gateway) would otherwise race to create different keys.
            ensure_dev_keys(data_dir)
        if env["KOO_ENV"] != "production" and not env.get("KOO_SERVICE_KEY_FILE"):
            ensure_dev_service_key(data_dir)  # likewise the key every process signs calls with
        chosen = [p for p in PROCESSES if p.available() and (p.name in only if only else p.in_up)]
        # Every child learns where each started service listens (ports may be overridden).
        peers = {p.addr_env: f"127.0.0.1:{p.port}" for p in chosen if p.kind == "grpc"}

        def start(proc: Process) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "koo_cli.main", "serve", proc.name],
                env={**env, **peers, "KOO_PORT": str(proc.port)},
                start_new_session=True,
            )

        supervisor.start(chosen, start)
        started = time.monotonic()
        waiting = [p for p in chosen if p.kind != "worker"]
        while waiting and not stopping:
            for child in supervisor.exited():
                # While starting, an exit is a configuration or code error: restarting
                # would only hide it.
                raise click.ClickException(
                    f"{child.proc.name} exited with code {child.popen.returncode} while starting"
                )
            waiting = [p for p in waiting if not _serving(p)]
            if time.monotonic() - started > STARTUP_TIMEOUT:
                raise click.ClickException(f"not serving after {STARTUP_TIMEOUT:.0f}s: {[p.name for p in waiting]}")
            time.sleep(0.2)
        if stopping:
            return
        _write_runtime(data_dir, env, supervisor)
        elapsed = time.monotonic() - started
        click.echo(f"\nKoo is up ({elapsed:.1f}s to all SERVING). Ctrl-C stops everything.")
        for child in supervisor.children:
            proc = child.proc
            where = f"http://127.0.0.1:{proc.port}" if proc.kind == "http" else f"127.0.0.1:{proc.port}"
            click.echo(f"  {proc.name:<15} {proc.kind:<7} {where:<28} pid {child.popen.pid}")
        gateway = next((c.proc for c in supervisor.children if c.proc.name == "gateway"), None)
        if gateway is not None:
            click.echo(f"\nOpen the web app: http://127.0.0.1:{gateway.port}/")
        while not stopping:
            if supervisor.tend():
                _write_runtime(data_dir, env, supervisor)
            time.sleep(0.1)
    finally:
        click.echo("stopping...")
        with contextlib.suppress(FileNotFoundError):
            (data_dir / RUNTIME_FILE).unlink()
        supervisor.stop()
        backends.stop()
        click.echo("stopped")
