"""`koo seed` and `koo bench` end to end against a platform started by `koo up`.

Small and short: a 200-account power-law graph, then a few seconds of the mixed workload
and of the baseline at a low rate. Checks the result file's shape and that nothing
failed; no timing is asserted (figures belong in docs/performance.md, not in tests).
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from koo_cli.main import cli
from tests.e2e.platform import Platform

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")


def _wait_for_runtime(data_dir: Path) -> None:
    deadline = time.monotonic() + 30
    while not (data_dir / "runtime.json").exists():
        assert time.monotonic() < deadline, "koo up did not write runtime.json"
        time.sleep(0.2)


def _invoke(runner: CliRunner, args: list[str], env: dict[str, str]) -> Any:
    # The commands end with asyncio.run, which leaves its thread without a current event
    # loop: run them on a thread of their own so the session's asyncio tests keep theirs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(runner.invoke, cli, args, env=env, catch_exceptions=False).result()


def test_seed_powerlaw_then_bench_mixed(platform: Platform, tmp_path: Path) -> None:
    _wait_for_runtime(platform.data_dir)
    runner = CliRunner()
    env = {"KOO_DATABASE_URL": "", "KOO_REDIS_URL": ""}  # found through runtime.json, as a user would
    where = ["--data-dir", str(platform.data_dir)]
    seed_args = ["seed", "--graph", "powerlaw", "--users", "200", "--posts-per-user", "3", "--no-progress", *where]

    seeded = _invoke(runner, seed_args, env)
    assert seeded.exit_code == 0, seeded.output
    assert (platform.data_dir / "seed" / "powerlaw.tsv").read_text().count("\n") == 200

    # Seeded accounts are written through the user store's layout, lookalike skeleton
    # included: a lookalike of a seeded handle (`l` written as `I`) is refused like any other.
    seeded_handle = next(
        h
        for _, h in (
            line.split("\t") for line in (platform.data_dir / "seed" / "powerlaw.tsv").read_text().splitlines()
        )
        if "l" in h
    )
    lookalike = seeded_handle.replace("l", "I", 1)
    taken = httpx.post(
        f"{platform.base_url}/v1/users",
        json={"handle": lookalike, "password": "a long passphrase 4 koo", "display_name": "x", "languages": ["hi"]},
    )
    assert taken.status_code == 409, taken.text

    # Resuming a finished seed does nothing and succeeds.
    again = _invoke(runner, seed_args, env)
    assert again.exit_code == 0, again.output

    out = tmp_path / "bench"
    bench_args = ["bench", "--workload", "mixed", "--rates", "20", "--duration", "4", "--warmup", "1", *where]
    bench = _invoke(runner, [*bench_args, "--out", str(out), "--url", platform.base_url], env)
    assert bench.exit_code == 0, bench.output
    [result_file] = out.glob("bench-*.json")
    report = json.loads(result_file.read_text())
    assert set(report) >= {"summary", "runs", "machine", "graph", "rates"}
    assert {r["workload"] for r in report["runs"]} == {"mixed", "baseline"}
    for run in report["runs"]:
        assert run["errors"]["total"] == 0, run["error_sample"]
        assert run["completed"] > 0
        assert {"p50_ms", "p90_ms", "p99_ms", "p99.9_ms"} <= set(run["latency"])
        assert {"achieved_rps", "offered_rps", "service_latency", "cpu_seconds", "generator_cpu_share"} <= set(run)
        assert "wrk" in run["cpu_seconds"]
        assert run["cpu_ms_per_request"]["koo"] > 0  # CPU per request, per process and in all
        assert run["idle_before"]["backlog"] >= 0
    mixed = next(r for r in report["runs"] if r["workload"] == "mixed")
    assert set(mixed["latency_by_op"]) <= {"home", "user", "compose"}
    assert "home" in mixed["latency_by_op"]
    assert "ratio_to_baseline" in report["summary"]["mixed"]
    [line] = [x for x in bench.output.splitlines() if x.startswith("summary: ")]
    assert "mixed max" in line and "baseline max" in line and "CPU ms/req" in line
    # Interleaved: a baseline run follows the workload's run at the matching rate.
    assert [r["workload"] for r in report["runs"]] == ["mixed", "baseline"]
    assert list(out.glob("bench-*.png"))
