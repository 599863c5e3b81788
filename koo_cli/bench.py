"""`koo bench`: open-loop load (Poisson arrivals) against the REST gateway, swept over rates."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from koo_cli.extras import require_extra
from services.kit.settings import default_data_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
P99_OBJECTIVE_MS = 100.0


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # nosec B310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _wait_healthy(url: str, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _get(f"{url}/healthz") == 200:
            return
        time.sleep(0.2)
    raise click.ClickException(f"{url}/healthz did not answer 200 within {seconds:.0f}s")


def _login(url: str, handle: str) -> str:
    from koo_cli.benchkit.tokens import SEED_PASSWORD

    body = json.dumps({"handle": handle, "password": SEED_PASSWORD}).encode()
    req = urllib.request.Request(
        f"{url}/v1/sessions", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=60) as resp:  # nosec B310
        return str(json.load(resp)["access_token"])


def prepare_data(
    *, folder: Path, url: str, data_dir: Path, graph: str | None, max_users: int, ttl: int, seed: int
) -> tuple[Path, str, int]:
    """Write `<prefix>.users` (id, token) and `<prefix>.bodies` (compose JSON) for the Lua script."""
    from koo_cli.benchkit.population import read_population
    from koo_cli.benchkit.runtime import find_runtime
    from koo_cli.benchkit.texts import pick_language, post_text
    from koo_cli.benchkit.tokens import mint, signer_for

    name, population = read_population(data_dir, graph)
    rng = random.Random(seed)
    sample = population if len(population) <= max_users else rng.sample(population, max_users)
    signer = signer_for(find_runtime(data_dir, need_backends=False).settings)
    if signer is not None:
        tokens = [mint(signer, uid, ttl_seconds=ttl) for uid, _ in sample]
    else:
        click.echo(f"no signing key under {data_dir}/keys: signing {len(sample)} users in through the gateway")
        with ThreadPoolExecutor(max_workers=4) as pool:
            tokens = list(pool.map(lambda u: _login(url, u[1]), sample))
    prefix = folder / "load"
    prefix.with_suffix(".users").write_text(
        "".join(f"{uid} {tok}\n" for (uid, _), tok in zip(sample, tokens, strict=True))
    )
    handles = [h for _, h in population]
    bodies = []
    for _ in range(2000):
        text = post_text(rng, pick_language(rng), mention=rng.choice(handles), url=True)
        bodies.append(json.dumps({"text": text}, ensure_ascii=False))
    prefix.with_suffix(".bodies").write_text("\n".join(bodies) + "\n")
    return prefix, name, len(sample)


def start_baseline(port: int, user_addr: str, data_dir: Path) -> subprocess.Popen[bytes]:
    # The platform's data folder: the baseline calls the user service with its service key.
    env = {**os.environ, "KOO_USER_ADDR": user_addr, "KOO_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.load.baseline_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _named_processes(data_dir: Path) -> dict[int, str]:
    from koo_cli.benchkit.runtime import read_runtime_file

    info = read_runtime_file(data_dir)
    return {int(p["pid"]): name for name, p in info.get("processes", {}).items()}


@click.command()
@click.option(
    "--workload",
    type=click.Choice(["mixed", "home", "user", "compose", "all"]),
    default="mixed",
    show_default=True,
    help="DeathStarBench's mix (60% home, 30% user timeline, 10% compose) or one request type.",
)
@click.option("--rates", default="200,400,800,1000,1200", show_default=True, help="Offered req/s, comma-separated.")
@click.option("--duration", type=float, default=30, show_default=True, help="Seconds per rate.")
@click.option(
    "--warmup", type=float, default=5, show_default=True, help="Seconds at the start of each run not counted."
)
@click.option(
    "--url", default=None, help="Gateway URL [the running koo up's, else 127.0.0.1:$KOO_GATEWAY_PORT or 8080]."
)
@click.option("--graph", default=None, help="Which seeded graph's users to act as (default: the last seeded).")
@click.option("--max-users", type=int, default=2000, show_default=True, help="Users sampled from the seeded graph.")
@click.option("--connections", type=int, default=0, help="Connections (one wrk thread each); 0 = by rate.")
@click.option(
    "--baseline/--no-baseline", default=True, show_default=True, help="Also load the bare Starlette+gRPC floor."
)
@click.option("--baseline-rates", default=None, help="Offered req/s for the baseline [the same as --rates].")
@click.option("--baseline-port", type=int, default=0, help="Port of the baseline app [a free one].")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Results folder [<data-dir>/bench].")
@click.option("--plot/--no-plot", default=True, show_default=True, help="Write the latency-throughput PNG.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--prewarm",
    type=float,
    default=0,
    show_default=True,
    help="Seconds of the workload at the lowest rate before the runs, not counted (fills caches).",
)
@click.option(
    "--idle-timeout",
    type=float,
    default=120,
    show_default=True,
    help="Before each run, wait at most this long for streams to drain and CPU to settle.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=default_data_dir,
    show_default="~/.local/share/koo",
    help="The data folder of the running `koo up` and `koo seed`.",
)
def bench(
    workload: str,
    rates: str,
    duration: float,
    warmup: float,
    url: str | None,
    graph: str | None,
    max_users: int,
    connections: int,
    baseline: bool,
    baseline_rates: str | None,
    baseline_port: int,
    out: Path | None,
    plot: bool,
    seed: int,
    prewarm: float,
    idle_timeout: float,
    data_dir: Path,
) -> None:
    """Open-loop benchmark of the REST gateway with wrk; JSON results and a latency-throughput plot."""
    require_extra("bench", what="`koo bench`")
    from koo_cli.benchkit.idle import wait_idle
    from koo_cli.benchkit.loadgen import RunSpec, run_wrk, sustainable, wrk_binary
    from koo_cli.benchkit.runtime import find_runtime

    try:
        wrk_binary()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    data_dir = data_dir.expanduser().resolve()
    runtime = find_runtime(data_dir, need_backends=False)
    url = (url or runtime.gateway_url()).rstrip("/")
    rate_list = [float(r) for r in rates.split(",") if r.strip()]
    base_list = [float(r) for r in (baseline_rates or rates).split(",") if r.strip()]
    if not rate_list or not base_list or min(rate_list + base_list) <= 0:
        raise click.UsageError("--rates and --baseline-rates need positive numbers")
    if warmup >= duration:
        raise click.UsageError("--warmup must be shorter than --duration")
    _wait_healthy(url, seconds=10)
    workloads = ["mixed", "home", "user", "compose"] if workload == "all" else [workload]
    out = (out or data_dir / "bench").expanduser()
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    named = _named_processes(data_dir)
    scan_koo = not named  # no koo up of ours: count every `koo serve` process
    from koo_cli.benchkit.procs import find_backends

    backends = find_backends(runtime.database_url, runtime.redis_url)
    total_runs = len(rate_list) * len(workloads) + (len(base_list) if baseline else 0)
    ttl = int(total_runs * (duration + 10) + 3600)

    with tempfile.TemporaryDirectory(prefix="koo-bench-") as tmp:
        try:
            prefix, graph_name, sampled = prepare_data(
                folder=Path(tmp), url=url, data_dir=data_dir, graph=graph, max_users=max_users, ttl=ttl, seed=seed
            )
        except FileNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"acting as {sampled} users of graph {graph_name}; {total_runs} runs of {duration:.0f}s")
        runs: list[dict[str, Any]] = []

        def one_run(kind: str, name: str, target: str, rate: float, *, seconds: float = 0, keep: bool = True) -> None:
            # A saturated run leaves a backlog (events, queued calls): let it drain first.
            idle = wait_idle(runtime.redis_url, list(named), timeout=idle_timeout)
            spec = RunSpec(
                url=target,
                workload=name,
                rate=rate,
                duration=seconds or duration,
                warmup=warmup,
                data_prefix=prefix,
                kind=kind,
                connections=connections,
            )
            try:
                result = run_wrk(spec, named, scan_koo=scan_koo, backends=backends)
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from None
            result["idle_before"] = {
                "waited_s": idle.waited_s,
                "backlog": idle.backlog,
                "cpu_percent": idle.cpu_percent,
                "idle": idle.idle,
            }
            result["cpu_ms_per_request"] = cpu_ms_per_request(result)
            if keep:
                runs.append(result)
            lat = result["latency"]
            click.echo(
                ("" if keep else "(prewarm, not counted) ")
                + f"{result['workload']:<8} offered {rate:>7.0f}/s  achieved {result['achieved_rps']:>7.1f}/s  "
                f"p50 {lat.get('p50_ms', 0):>7.1f}  p99 {lat.get('p99_ms', 0):>7.1f}  "
                f"p99.9 {lat.get('p99.9_ms', 0):>7.1f} ms  errors {result['errors']['total']}  "
                f"cpu {result['cpu_ms_per_request'].get('koo', 0):.2f} ms/req  "
                f"wrk cpu {result['cpu_percent_of_one_core'].get('wrk', 0):.0f}%  "
                f"(idle after {idle.waited_s:.0f}s{'' if idle.idle else ', NOT idle'})"
            )

        baseline_proc = None
        base_url = ""
        if baseline:
            port = baseline_port or _free_port()
            baseline_proc = start_baseline(port, runtime.settings.user_addr, runtime.settings.data_dir)
            base_url = f"http://127.0.0.1:{port}"
        try:
            if baseline_proc is not None:
                _wait_healthy(base_url, seconds=20)
                if baseline_proc.poll() is not None:
                    # Something else answers on that port: measuring it would be meaningless.
                    raise click.ClickException(f"the baseline app could not start on {base_url} (port in use?)")
                named[baseline_proc.pid] = "baseline"
            if prewarm > 0:
                # Fills the read caches for the sampled users first: the runs then measure the
                # steady state of a platform whose readers come back, not its first minute.
                for name in workloads:
                    one_run("koo", name, url, min(rate_list), seconds=prewarm + warmup, keep=False)
            # Interleaved: each workload rate next to the baseline's matching rate, so the
            # machine's other load hits both alike.
            for i in range(max(len(rate_list), len(base_list) if baseline else 0)):
                for name in workloads:
                    if i < len(rate_list):
                        one_run("koo", name, url, rate_list[i])
                if baseline_proc is not None and i < len(base_list):
                    one_run("baseline", "baseline", base_url, base_list[i])
        finally:
            if baseline_proc is not None:
                baseline_proc.terminate()
                try:
                    baseline_proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    baseline_proc.kill()

    summary: dict[str, Any] = {}
    for name in [*workloads, *(["baseline"] if baseline else [])]:
        mine = [r for r in runs if r["workload"] == name]
        best = sustainable(mine, p99_ms=P99_OBJECTIVE_MS)
        summary[name] = {
            "max_rps_within_objective": best["achieved_rps"] if best else 0.0,
            "p99_objective_ms": P99_OBJECTIVE_MS,
            # At the best run within the objective, else the median over the runs.
            "cpu_ms_per_request": (best or _median_run(mine))["cpu_ms_per_request"] if mine else {},
        }
    if baseline:
        floor = summary["baseline"]["max_rps_within_objective"]
        for name in workloads:
            ours = summary[name]["max_rps_within_objective"]
            summary[name]["ratio_to_baseline"] = round(ours / floor, 3) if floor else None
    report = {
        "started_at": stamp,
        "gateway": url,
        "graph": graph_name,
        "users_sampled": sampled,
        "rates": rate_list,
        "baseline_rates": base_list if baseline else [],
        "duration_s": duration,
        "warmup_s": warmup,
        "machine": _machine(),
        "summary": summary,
        "runs": runs,
    }
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    click.echo(f"results: {path}")
    if plot:
        from koo_cli.benchkit.plot import plot_runs

        png = plot_runs(
            runs, out / f"bench-{stamp}.png", title=f"Koo on {_machine()['cpus']} cores, graph {graph_name}"
        )
        if png is not None:
            click.echo(f"plot:    {png}")
    click.echo(json.dumps(summary, indent=2))
    click.echo(summary_line(summary, workloads))


def cpu_ms_per_request(result: dict[str, Any]) -> dict[str, float]:
    """CPU ms per completed request, per process, and `koo`: the platform's (every process of
    Koo, its PostgreSQL and Redis; not the generator, the baseline's own app counts for it)."""
    requests = result["achieved_rps"] * result["wall_seconds"]  # the warm-up ran at the same rate
    if requests <= 0:
        return {}
    skip = {"machine", "other", "wrk"}
    per = {k: round(1000 * v / requests, 2) for k, v in result["cpu_seconds"].items() if k not in skip and v > 0}
    baseline = result["workload"] == "baseline"
    mine = {k: v for k, v in per.items() if (k in ("baseline", "user", "postgres") if baseline else k != "baseline")}
    mine["koo"] = round(sum(mine.values()), 2)
    return mine


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r["achieved_rps"])[len(runs) // 2]


def summary_line(summary: dict[str, Any], workloads: list[str]) -> str:
    """One line: each workload's max rate within the objective, the baseline's, the ratio, CPU."""
    parts = []
    base = summary.get("baseline")
    for name in workloads:
        w = summary[name]
        part = f"{name} max {w['max_rps_within_objective']:.1f} req/s within p99<={P99_OBJECTIVE_MS:.0f}ms"
        cpu = w["cpu_ms_per_request"].get("koo")
        if cpu is not None:
            part += f", {cpu:.2f} CPU ms/req"
        parts.append(part)
    if base is not None:
        b_cpu = base["cpu_ms_per_request"].get("koo")
        parts.append(
            f"baseline max {base['max_rps_within_objective']:.1f} req/s"
            + (f", {b_cpu:.2f} CPU ms/req" if b_cpu is not None else "")
        )
        for name in workloads:
            ratio = summary[name].get("ratio_to_baseline")
            cpu = summary[name]["cpu_ms_per_request"].get("koo")
            cpu_ratio = f"{cpu / b_cpu:.2f}x" if cpu and b_cpu else "n/a"
            parts.append(
                f"{name} ratio {ratio if ratio is not None else 'n/a'}, CPU per request {cpu_ratio} the baseline's"
            )
    return "summary: " + "; ".join(parts)


def _machine() -> dict[str, Any]:
    import platform

    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
