"""CPU seconds per process group (psutil) over a benchmark run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil


def _label(proc: psutil.Process, named: dict[int, str], *, scan_koo: bool) -> str | None:
    if proc.pid in named:
        return named[proc.pid]
    try:
        name = proc.name()
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    if name.startswith("postgres") or name == "postmaster":
        return "postgres"
    if name.startswith("redis-server"):
        return "redis"
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


def snapshot(named: dict[int, str], *, scan_koo: bool) -> CpuSnapshot:
    """CPU time so far of the `named` processes, every PostgreSQL and Redis process, and (with
    `scan_koo`, when no `koo up` says which are its own) every `koo serve` process on the machine."""
    snap = CpuSnapshot()
    for proc in psutil.process_iter():
        label = _label(proc, named, scan_koo=scan_koo)
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
