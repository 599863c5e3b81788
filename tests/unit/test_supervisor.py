"""`koo up`'s supervisor on real processes: a killed process comes back, and stopping goes
gateway first, then services, then workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from koo_cli.supervisor import Supervisor
from services.kit.roster import Process

# Says it is ready (a file), sleeps until SIGTERM, then writes its name to the log and exits.
CHILD = """
import signal, sys, time
def stop(*_):
    with open(sys.argv[2], "a") as log:
        log.write(sys.argv[1] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[2] + "." + sys.argv[1], "w").close()  # ready: the handler is installed
while True:
    time.sleep(0.05)
"""


def starter(log: Path):  # type: ignore[no-untyped-def]
    def start(proc: Process) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", CHILD, proc.name, str(log)])

    return start


def wait_until(condition, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


PROCS = [
    Process("feed-worker", "x", "worker", 0),
    Process("user", "x", "grpc", 0),
    Process("gateway", "x", "http", 0),
    Process("post", "x", "grpc", 0),
]


def test_a_killed_process_is_started_again_and_reported(tmp_path: Path) -> None:
    lines: list[str] = []
    supervisor = Supervisor(report=lines.append)
    supervisor.start(PROCS, starter(tmp_path / "stopped"))
    try:
        victim = next(c for c in supervisor.children if c.proc.name == "user")
        old_pid = victim.popen.pid
        os.kill(old_pid, signal.SIGKILL)
        wait_until(lambda: (supervisor.tend(), victim.restarts == 1)[1])
        assert victim.popen.pid != old_pid and victim.popen.poll() is None
        assert any("user exited with signal SIGKILL" in line for line in lines), lines
        assert any("user started again" in line for line in lines), lines
        # The others were left alone.
        assert all(c.restarts == 0 for c in supervisor.children if c is not victim)
    finally:
        supervisor.stop(budget=10)


def test_a_crash_loop_backs_off(tmp_path: Path) -> None:
    lines: list[str] = []
    supervisor = Supervisor(report=lines.append)
    supervisor.start([Process("user", "x", "grpc", 0)], lambda proc: subprocess.Popen([sys.executable, "-c", "pass"]))
    try:
        child = supervisor.children[0]
        wait_until(lambda: (supervisor.tend(), child.restarts >= 3)[1])
        waits = [line.split("restarting in ")[1].split("s ")[0] for line in lines if "restarting in" in line]
        assert waits[:3] == ["0.25", "0.5", "1"], lines
    finally:
        supervisor.stop(budget=5)


def test_stop_goes_gateway_then_services_then_workers(tmp_path: Path) -> None:
    log = tmp_path / "stopped"
    supervisor = Supervisor(report=lambda line: None)
    supervisor.start(PROCS, starter(log))
    wait_until(lambda: all(Path(f"{log}.{p.name}").exists() for p in PROCS))
    supervisor.stop(budget=10)
    order = log.read_text().split()
    assert order[0] == "gateway"
    assert set(order[1:3]) == {"user", "post"}
    assert order[3] == "feed-worker"
    assert all(c.popen.poll() is not None for c in supervisor.children)
