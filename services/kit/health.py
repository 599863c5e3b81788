"""Health that tells the truth: what is broken in this process, and why.

`grpc.health.v1` answers per name:
- `""` (the process; Kubernetes' liveness probe): NOT_SERVING while one of its background
  tasks (an event consumer, the outbox relay) is dead: restarting the process may heal it.
- each service's full name (readiness): NOT_SERVING also while PostgreSQL or Redis does not
  answer, which a restart would not heal, so it only takes the process out of rotation.
- `koo.task.<name>` and `koo.dependency.<name>`: one entry per task and dependency, so
  `grpcurl ... grpc.health.v1.Health/Check '{"service":"koo.task.user-post-counters"}'`
  names the broken part; the reason is logged when the status changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from grpc_health.v1 import health, health_pb2

log = logging.getLogger("koo.health")

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
TASK_PREFIX = "koo.task."
DEPENDENCY_PREFIX = "koo.dependency."

Probe = Callable[[], Awaitable[None]]


class ProcessHealth:
    def __init__(self) -> None:
        self.servicer = health.aio.HealthServicer()
        self._services: list[str] = []
        self._started = False
        self._draining = False
        self.dead_tasks: dict[str, str] = {}
        self.down_dependencies: dict[str, str] = {}
        self._known: set[str] = set()

    @property
    def live(self) -> bool:
        return self._started and not self._draining and not self.dead_tasks

    @property
    def ready(self) -> bool:
        return self.live and not self.down_dependencies

    async def started(self, services: list[str]) -> None:
        self._services = list(services)
        self._started = True
        await self._publish()

    async def draining(self) -> None:
        self._draining = True
        await self.servicer.enter_graceful_shutdown()

    async def task_died(self, name: str, reason: str) -> None:
        if self.dead_tasks.get(name) != reason:
            log.error("NOT_SERVING: task %s is dead: %s", name, reason)
        self.dead_tasks[name] = reason
        await self._publish()

    async def task_alive(self, name: str) -> None:
        self._known.add(TASK_PREFIX + name)
        if self.dead_tasks.pop(name, None) is not None:
            log.warning("task %s is running again", name)
        await self._publish()

    async def dependency(self, name: str, problem: str | None) -> None:
        self._known.add(DEPENDENCY_PREFIX + name)
        before = self.down_dependencies.get(name)
        if problem is None:
            self.down_dependencies.pop(name, None)
            if before is not None:
                log.warning("dependency %s answers again", name)
        else:
            if before is None:
                log.error("NOT_SERVING: dependency %s: %s", name, problem)
            self.down_dependencies[name] = problem
        await self._publish()

    def reasons(self) -> list[str]:
        """Why this process is not serving (empty when it is)."""
        return [f"task {n}: {r}" for n, r in self.dead_tasks.items()] + [
            f"{n}: {r}" for n, r in self.down_dependencies.items()
        ]

    async def _publish(self) -> None:
        if not self._started or self._draining:
            return
        await self.servicer.set("", SERVING if self.live else NOT_SERVING)
        for name in self._services:
            await self.servicer.set(name, SERVING if self.ready else NOT_SERVING)
        for name in sorted(self._known):
            if name.startswith(TASK_PREFIX):
                bad = name[len(TASK_PREFIX) :] in self.dead_tasks
            else:
                bad = name[len(DEPENDENCY_PREFIX) :] in self.down_dependencies
            await self.servicer.set(name, NOT_SERVING if bad else SERVING)


async def watch_dependencies(
    health_state: ProcessHealth, probes: dict[str, Probe], *, every: float = 5.0, limit: float = 2.0
) -> None:
    """Probe each dependency every `every` seconds; a probe that fails or hangs marks it down."""
    while True:
        for name, probe in probes.items():
            try:
                await asyncio.wait_for(probe(), limit)
                problem = None
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                problem = f"no answer within {limit:g}s"
            except Exception as exc:  # noqa: BLE001 - any failure means it is not usable
                problem = f"{type(exc).__name__}: {exc}"
            await health_state.dependency(name, problem)
        await asyncio.sleep(every)
