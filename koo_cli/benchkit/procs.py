"""CPU seconds per process group (psutil) over a benchmark run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Backends:
    """Which PostgreSQL and Redis processes are the platform's (others may share the machine)."""

    postmaster: int | None = None  # its server: the postmaster and its children; None = every postgres
    redis_hint: str = ""  # text in the platform's redis-server command line ("" = every redis-server)


def find_backends(database_url: str, redis_url: str) -> Backends:
    """The embedded servers `koo up` started (by data folder / socket); external ones match loosely."""
    from urllib.parse import parse_qs, urlsplit

    postmaster = None
    socket_dir = parse_qs(urlsplit(database_url).query).get("host", [""])[0]
    port = urlsplit(database_url).port
    for proc in psutil.process_iter(["name", "cmdline", "ppid"]):
        with contextlib.suppress(psutil.Error):
            if not (proc.info["name"] or "").startswith("postgres"):
                continue
            cmd = " ".join(proc.info["cmdline"] or [])
            if " -D " not in f" {cmd} ":
                continue
            data_dir = cmd.split(" -D ", 1)[1].split()[0] if " -D " in cmd else ""
            if (socket_dir and data_dir and Path(socket_dir).resolve() == Path(data_dir).resolve()) or (
                not socket_dir and port and f"-p {port}" in cmd
            ):
                postmaster = proc.pid
    parts = urlsplit(redis_url)
    hint = parts.path if parts.scheme == "unix" else (f":{parts.port}" if parts.port else "")
    return Backends(postmaster=postmaster, redis_hint=hint)


def _label(proc: psutil.Process, named: dict[int, str], *, scan_koo: bool, backends: Backends) -> str | None:
    if proc.pid in named:
        return named[proc.pid]
    try:
        name = proc.name()
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    if name.startswith("postgres") or name == "postmaster":
        if backends.postmaster is None or proc.pid == backends.postmaster or proc.ppid() == backends.postmaster:
            return "postgres"
        return None
    if name.startswith("redis-server"):
        return "redis" if backends.redis_hint in " ".join(cmdline) else None
    joined = " ".join(cmdline)
    if not scan_koo:
        return None
    if "koo_cli.main serve" in joined or " koo serve " in f" {joined} ":
        return str(cmdline[-1])
    return None


@dataclass
class CpuSnapshot:
    per_pid: dict[int, tuple[str, float]] = field(default_factory=dict)
    machine_busy: float = 0.0


def snapshot(named: dict[int, str], *, scan_koo: bool, backends: Backends) -> CpuSnapshot:
    """CPU time so far of the `named` processes, every PostgreSQL and Redis process, and (with
    `scan_koo`, when no `koo up` says which are its own) every `koo serve` process on the machine."""
    snap = CpuSnapshot()
    for proc in psutil.process_iter():
        label = _label(proc, named, scan_koo=scan_koo, backends=backends)
        if label is None:
            continue
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            t = proc.cpu_times()
            snap.per_pid[proc.pid] = (label, t.user + t.system)
    times = psutil.cpu_times()
    snap.machine_busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return snap


def cpu_by_label(before: CpuSnapshot, after: CpuSnapshot, extra: Iterable[tuple[str, float]] = ()) -> dict[str, float]:
    """CPU seconds spent between two snapshots, per label, plus `extra`, `other` and `machine`."""
    spent: dict[str, float] = {}
    for pid, (label, t) in after.per_pid.items():
        start = before.per_pid.get(pid, (label, 0.0))[1]
        spent[label] = spent.get(label, 0.0) + max(0.0, t - start)
    for label, seconds in extra:
        spent[label] = spent.get(label, 0.0) + seconds
    machine = max(0.0, after.machine_busy - before.machine_busy)
    spent["other"] = max(0.0, machine - sum(spent.values()))
    spent["machine"] = machine
    return {k: round(v, 2) for k, v in sorted(spent.items())}
