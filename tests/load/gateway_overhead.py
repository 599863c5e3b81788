"""Gateway overhead: `GET /v1/users/me` through the gateway vs bare Starlette, with wrk.

Three targets in one run, on one machine, loaded the same way (wrk, same threads,
connections and duration), one after the other:

1. bare Starlette returning a fixed JSON body (the HTTP floor);
2. bare Starlette making one grpc.aio UserService.GetUser call with the caller's token
   and answering its proto3 JSON (the "gateway pattern" floor: no routing tables, no
   edge auth, no rate limit, no transcoding checks);
3. the gateway (`koo serve gateway`): template matching, JWT verification, the Redis rate
   limit (one EVALSHA per request; the per-user read budget is off so that a benchmark
   user is not throttled, the per-IP budget stays on with a large limit), request
   building from path/query/body, the same GetUser call, proto3 JSON out.

Both floors (tests/load/bare_starlette.py) run under uvicorn with uvloop and httptools in one process, like the
gateway; the user service is the one `koo up --only user --only gateway` starts.

    python tests/load/gateway_overhead.py                 # 15 s per target, 64 connections
    python tests/load/gateway_overhead.py --duration 30 --connections 128

Needs `wrk` (apt-get install wrk). Prints a Markdown table (docs/performance.md, "Gateway
overhead"). Client and servers share the machine's cores: compare the rows, not the
absolute numbers to another machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.platform import free_port, running_platform  # noqa: E402

UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning")


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_ms_per_request: float  # of the HTTP process alone: what the edge itself costs


def listening_process(port: int) -> psutil.Process:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise RuntimeError(f"nothing listens on {port}")


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(name: str, url: str, token: str, *, threads: int, connections: int, duration: int) -> Result:
    base = ["wrk", f"-t{threads}", f"-c{connections}", "-H", f"authorization: Bearer {token}", "--latency"]
    subprocess.run([*base, "-d3s", url], capture_output=True, check=True)  # warm-up
    server = listening_process(int(url.split(":")[2].split("/")[0]))
    cpu_before = _cpu_seconds(server)
    out = subprocess.run([*base, f"-d{duration}s", url], capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(server) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Result(name, rps, p50, p99, int(bad.group(1)) if bad else 0, cpu * 1000 / max(1, total))


def sign_in(base_url: str) -> tuple[str, str]:
    handle = f"bench_{os.getpid()}"
    account = {"handle": handle, "password": "benchmark-password", "display_name": "बेंच", "languages": ["hi"]}
    httpx.post(f"{base_url}/v1/users", json=account, timeout=30).raise_for_status()
    session = httpx.post(
        f"{base_url}/v1/sessions", json={"handle": handle, "password": "benchmark-password"}, timeout=30
    )
    session.raise_for_status()
    return session.json()["access_token"], session.json()["user"]["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per target")
    parser.add_argument(
        "--connections", default="1,64", help="load levels, comma-separated: 1 shows the added latency, 64 throughput"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    settings = {
        "KOO_LOG_LEVEL": "WARNING",
        "KOO_RATE_READ": "off",
        "KOO_RATE_IP": "100000000/minute",
        "KOO_ARGON2_TIME_COST": "1",
        "KOO_ARGON2_MEMORY_KIB": "8192",
    }
    with (
        tempfile.TemporaryDirectory(prefix="koo-overhead-") as tmp,
        running_platform(Path(tmp), env=settings, only=("user", "gateway")) as platform,
    ):
        token, user_id = sign_in(platform.base_url)
        bare_port = free_port()
        bare = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.load.bare_starlette:app",
                "--port",
                str(bare_port),
                *UVICORN_FLAGS,
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "KOO_USER_ADDR": f"127.0.0.1:{platform.ports['user']}", "BENCH_USER_ID": user_id},
            start_new_session=True,
        )
        try:
            bare_url = f"http://127.0.0.1:{bare_port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{bare_url}/json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            check = httpx.get(f"{bare_url}/grpc", headers={"authorization": f"Bearer {token}"}, timeout=5)
            check.raise_for_status()
            results: list[tuple[int, list[Result]]] = []
            for connections in [int(c) for c in args.connections.split(",")]:
                load = {
                    "threads": min(args.threads, connections),
                    "connections": connections,
                    "duration": args.duration,
                }
                results.append(
                    (
                        connections,
                        [
                            run_wrk("bare Starlette, JSON only", f"{bare_url}/json", token, **load),
                            run_wrk("bare Starlette + one grpc.aio GetUser", f"{bare_url}/grpc", token, **load),
                            run_wrk("gateway GET /v1/users/me", f"{platform.base_url}/v1/users/me", token, **load),
                        ],
                    )
                )
        finally:
            os.killpg(bare.pid, signal.SIGTERM)
            bare.wait(timeout=10)

    print(f"\nwrk -d{args.duration}s per target, {os.cpu_count()} cores shared by client and servers\n")
    print("| connections | target | req/s | p50 ms | p99 ms | non-2xx | HTTP process CPU ms/req |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for connections, rows in results:
        for r in rows:
            print(
                f"| {connections} | {r.name} | {r.requests_per_second:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
                f"| {r.non_2xx} | {r.cpu_ms_per_request:.2f} |"
            )
    for connections, rows in results:
        floor, gateway = rows[1], rows[2]
        print(
            f"\n{connections} connection(s): the gateway gives {gateway.requests_per_second / floor.requests_per_second:.0%} "
            f"of the bare gRPC pattern's throughput, p50 {gateway.p50_ms - floor.p50_ms:+.2f} ms, "
            f"p99 {gateway.p99_ms - floor.p99_ms:+.2f} ms, "
            f"{gateway.cpu_ms_per_request - floor.cpu_ms_per_request:+.2f} ms CPU per request in the HTTP process"
        )


if __name__ == "__main__":
    main()
