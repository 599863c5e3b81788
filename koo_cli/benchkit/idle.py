"""Waiting until the platform is idle, so one run's backlog never leaks into the next.

A saturated run leaves work behind: events not yet consumed (fanout, indexing, counters)
and requests still queued in the services. `wait_idle` returns once every consumer group
has caught up with its stream (nothing pending, nothing undelivered) and the platform's
processes use almost no CPU, or after `timeout` seconds (it then says what was left).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import psutil
import redis

IDLE_CPU_PERCENT = 15.0  # all the platform's processes together, % of one core
SAMPLE_S = 1.0


@dataclass(frozen=True, slots=True)
class Idleness:
    waited_s: float
    backlog: int  # events pending or not yet delivered, over every stream and group
    cpu_percent: float  # the platform's processes, % of one core, over the last sample
    idle: bool


def stream_backlog(client: redis.Redis) -> int:
    """Events pending (delivered, unacknowledged) or not yet delivered, summed over groups."""
    total = 0
    for key in client.scan_iter(match="koo:events:*", count=1000, _type="stream"):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if ":dlq:" in name:
            continue
        try:
            last = client.xinfo_stream(name)["last-generated-id"]
            groups = client.xinfo_groups(name)
        except redis.ResponseError:
            continue
        for group in groups:
            total += int(group.get("pending") or 0)
            lag = group.get("lag")
            if lag is not None:
                total += int(lag)
            elif _id(group.get("last-delivered-id")) < _id(last):
                total += 1  # Redis < 7 does not count the lag: at least one is waiting
    return total


def _id(value: object) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else str(value or "0-0")
    ms, _, seq = text.partition("-")
    return int(ms or 0), int(seq or 0)


def platform_cpu_percent(pids: list[int], seconds: float = SAMPLE_S) -> float:
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            procs.append(proc)
            for child in proc.children(recursive=True):
                procs.append(child)
    start = {}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            start[proc.pid] = t.user + t.system
    time.sleep(seconds)
    spent = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            spent += max(0.0, t.user + t.system - start.get(proc.pid, t.user + t.system))
    return 100.0 * spent / seconds


def wait_idle(redis_url: str, pids: list[int], *, timeout: float = 120.0) -> Idleness:
    started = time.monotonic()
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    backlog, cpu = 0, 0.0
    try:
        while True:
            try:
                backlog = stream_backlog(client)
            except redis.RedisError:
                backlog = 0  # Redis unreachable: nothing to wait for there
            cpu = platform_cpu_percent(pids) if pids else 0.0
            waited = time.monotonic() - started
            if backlog == 0 and cpu <= IDLE_CPU_PERCENT:
                return Idleness(round(waited, 1), backlog, round(cpu, 1), True)
            if waited >= timeout:
                return Idleness(round(waited, 1), backlog, round(cpu, 1), False)
    finally:
        client.close()
