"""The supervisor inside `koo up`: restarts a crashed process with backoff, stops in order.

A process that exits while the platform runs (killed, crashed) is started again after a
backoff that doubles on each quick crash (0.25 s, 0.5 s, 1 s ... up to 30 s) and starts
over once the process has stayed up for `STABLE_AFTER` seconds, so a crash loop cannot
spin the CPU while a one-off crash heals in well under a second plus start-up time.

Stopping goes in dependency order: the gateway first (no new requests come in, in-flight
ones drain while the services still answer), then the services, then the workers (which
may still be finishing events the services published).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.kit.roster import Process

FIRST_BACKOFF = 0.25
MAX_BACKOFF = 30.0
STABLE_AFTER = 30.0
# Stop order: the gateway, then services, then workers (see the module docstring).
STOP_ORDER: tuple[str, ...] = ("http", "grpc", "worker")

Starter = Callable[[Process], "subprocess.Popen[bytes]"]
Reporter = Callable[[str], None]


@dataclass
class Child:
    proc: Process
    popen: subprocess.Popen[bytes]
    started: float
    restarts: int = 0
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None  # set while waiting to be started again

    @property
    def running(self) -> bool:
        return self.restart_at is None and self.popen.poll() is None


class Supervisor:
    """Owns the child processes of `koo up`."""

    def __init__(self, report: Reporter, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._start: Starter | None = None
        self._report = report
        self._clock = clock
        self.children: list[Child] = []

    def start(self, procs: list[Process], starter: Starter) -> None:
        """Start `procs` with `starter`, which is also how they are started again."""
        self._start = starter
        for proc in procs:
            self.children.append(Child(proc, starter(proc), self._clock()))

    def exited(self) -> list[Child]:
        """Children that are no longer running (and not already waiting to restart)."""
        return [c for c in self.children if c.restart_at is None and c.popen.poll() is not None]

    def tend(self) -> bool:
        """Schedule restarts for children that exited and start those whose backoff passed.

        Returns True when a child was (re)started, so the caller can publish new pids.
        """
        now = self._clock()
        changed = False
        for child in self.children:
            if child.restart_at is None:
                code = child.popen.poll()
                if code is None:
                    if now - child.started >= STABLE_AFTER:
                        child.backoff = FIRST_BACKOFF
                    continue
                child.restart_at = now + child.backoff
                self._report(
                    f"{child.proc.name} exited with {_describe(code)}; restarting in {child.backoff:g}s"
                    f" (restart {child.restarts + 1})"
                )
                child.backoff = min(child.backoff * 2, MAX_BACKOFF)
            elif now >= child.restart_at and self._start is not None:
                child.popen = self._start(child.proc)
                child.started = now
                child.restart_at = None
                child.restarts += 1
                changed = True
                self._report(f"{child.proc.name} started again (pid {child.popen.pid})")
        return changed

    def stop(self, *, budget: float = 25.0) -> None:
        """SIGTERM kind by kind (gateway, services, workers); SIGKILL what outlives the budget."""
        deadline = self._clock() + budget
        for kind in STOP_ORDER:
            group = [c for c in self.children if c.proc.kind == kind]
            for child in group:
                child.restart_at = None
                if child.popen.poll() is None:
                    child.popen.send_signal(signal.SIGTERM)
            for child in group:
                try:
                    child.popen.wait(timeout=max(0.1, deadline - self._clock()))
                except subprocess.TimeoutExpired:
                    child.popen.kill()
                    child.popen.wait()
        # Anything of another kind (none today) still goes.
        for child in self.children:
            if child.popen.poll() is None:
                child.popen.kill()
                child.popen.wait()


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"
