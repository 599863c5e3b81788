"""Running wrk with koo_load.lua at one rate, and turning its output into figures."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from koo_cli.benchkit import procs

LUA_SCRIPT = Path(__file__).with_name("koo_load.lua")
OPS = {1: "home", 2: "user", 3: "compose", 4: "baseline"}
PERCENTILES = (50.0, 90.0, 99.0, 99.9)

WORKLOADS: dict[str, tuple[float, float, float]] = {
    # DeathStarBench socialNetwork mixed workload: 60% home, 30% user timeline, 10% compose.
    "mixed": (0.6, 0.3, 0.1),
    "home": (1.0, 0.0, 0.0),
    "user": (0.0, 1.0, 0.0),
    "compose": (0.0, 0.0, 1.0),
}


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise FileNotFoundError("wrk is not installed: apt-get install wrk (4.1, LuaJIT)")
    return found


def connections_for(rate: float) -> int:
    """One connection per 5 req/s: a connection's mean gap is 200 ms, so it rarely waits behind its
    own previous request, and almost never idles past uvicorn's 5 s keep-alive (which would close
    it under wrk and count a socket error: P(gap > 5 s) = e^-25)."""
    return max(2, min(256, int(rate / 5)))


@dataclass(frozen=True)
class RunSpec:
    url: str
    workload: str
    rate: float
    duration: float
    warmup: float
    data_prefix: Path
    page_size: int = 10
    max_depth: int = 9
    kind: str = "koo"  # or "baseline"
    connections: int = 0
    timeout_s: int = 10


def _histogram(buckets: dict[str, int], per_e: int, op: int | None) -> HdrHistogram:
    hist = HdrHistogram(1, 600_000_000, 3)
    for key, count in buckets.items():
        k = int(key)
        if op is not None and k // 10000 != op:
            continue
        value = int(math.exp(((k % 10000) + 0.5) / per_e))
        hist.record_value(max(1, value), count)
    return hist


def _summary(hist: HdrHistogram) -> dict[str, Any]:
    if hist.get_total_count() == 0:
        return {"count": 0}
    out: dict[str, Any] = {"count": hist.get_total_count(), "mean_ms": round(hist.get_mean_value() / 1000, 2)}
    for p in PERCENTILES:
        out[f"p{p:g}_ms"] = round(hist.get_value_at_percentile(p) / 1000, 2)
    out["max_ms"] = round(hist.get_max_value() / 1000, 2)
    return out


def analyse(raw: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    per_e = int(raw["buckets_per_e"])
    measured_s = max(1e-9, raw["duration_us"] / 1e6 - spec.warmup)
    counts: dict[str, int] = raw["counts"]
    by_op: dict[str, dict[str, int]] = {}
    completed = 0
    non_2xx = 0
    for key, n in counts.items():
        op, _, status = key.partition(":")
        if not status:
            continue
        by_op.setdefault(op, {})[status] = by_op.setdefault(op, {}).get(status, 0) + n
        completed += n
        if not status.startswith("2"):
            non_2xx += n
    sock = raw["socket_errors"]
    socket_errors = int(sock["connect"] + sock["read"] + sock["write"] + sock["timeout"])
    ops_present = sorted({int(k) // 10000 for k in raw["response"]} | {int(k) // 10000 for k in raw["service"]})
    return {
        "workload": spec.workload if spec.kind == "koo" else "baseline",
        "offered_rps": spec.rate,
        "achieved_rps": round(completed / measured_s, 1),
        "measured_seconds": round(measured_s, 1),
        "connections": spec.connections,
        "completed": completed,
        "errors": {"non_2xx": non_2xx, "socket": socket_errors, "total": non_2xx + socket_errors},
        "status_by_op": by_op,
        "late_requests": int(counts.get("late", 0)),
        "mean_schedule_lag_ms": round(counts.get("lag_sum_us", 0) / max(1, completed) / 1000, 3),
        # Latency from each request's scheduled (Poisson) arrival: includes any wait behind
        # the connection's previous request. The headline figure.
        "latency": _summary(_histogram(raw["response"], per_e, None)),
        # Latency from the moment the request was written (wrk's own measure).
        "service_latency": _summary(_histogram(raw["service"], per_e, None)),
        "latency_by_op": {OPS[op]: _summary(_histogram(raw["response"], per_e, op)) for op in ops_present},
        "wrk_latency_ms": {k: round(v / 1000, 2) for k, v in raw["wrk_latency_us"]["percentiles"].items()},
        "error_sample": raw.get("error_sample", "")[:1000],
    }


def run_wrk(spec: RunSpec, named: dict[int, str], *, scan_koo: bool, backends: procs.Backends) -> dict[str, Any]:
    """One run at one rate: wrk's figures, plus CPU seconds per process over the run."""
    conns = spec.connections or connections_for(spec.rate)
    spec = RunSpec(**{**spec.__dict__, "connections": conns})
    p_home, p_user, p_compose = WORKLOADS.get(spec.workload, (1.0, 0.0, 0.0))
    args = [
        wrk_binary(),
        f"-t{conns}",
        f"-c{conns}",
        f"-d{int(spec.duration)}s",
        f"--timeout={spec.timeout_s}s",
        "-s",
        str(LUA_SCRIPT),
        spec.url,
        "--",
        str(spec.data_prefix),
        str(spec.rate),
        str(p_home),
        str(p_user),
        str(p_compose),
        str(spec.page_size),
        str(spec.max_depth),
        str(spec.warmup),
        spec.kind,
        str(conns),
    ]
    before = procs.snapshot(named, scan_koo=scan_koo, backends=backends)
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read().decode(errors="replace")
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    after = procs.snapshot(named, scan_koo=scan_koo, backends=backends)
    wrk_cpu = usage.ru_utime + usage.ru_stime
    line = next((x for x in out.splitlines() if x.startswith("KOO_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {err.strip() or out.strip()[-2000:]}")
    raw = json.loads(line[len("KOO_RESULT ") :])
    result = analyse(raw, spec)
    cpu = procs.cpu_by_label(before, after, extra=[("wrk", wrk_cpu)])
    result["cpu_seconds"] = cpu
    result["cpu_percent_of_one_core"] = {k: round(100 * v / wall, 1) for k, v in cpu.items()}
    result["generator_cpu_share"] = round(wrk_cpu / cpu["machine"], 3) if cpu["machine"] else None
    result["wall_seconds"] = round(wall, 1)
    return result


def sustainable(results: list[dict[str, Any]], *, p99_ms: float) -> dict[str, Any] | None:
    """The highest-throughput run that met the objective: p99 within bound, no errors, kept up."""
    ok = [
        r
        for r in results
        if r["errors"]["total"] == 0
        and r["latency"].get("p99_ms", math.inf) <= p99_ms
        and r["achieved_rps"] >= 0.95 * r["offered_rps"]
    ]
    return max(ok, key=lambda r: r["achieved_rps"]) if ok else None
