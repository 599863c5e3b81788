"""The grpc.aio server every Koo process runs: health, reflection, interceptors, drain.

`run_service` builds shared resources from settings (database engine, Redis, channels to
peers, token verifier, Snowflake ids), lets the service register its servicers and start
its background tasks, flips health to SERVING, and on SIGTERM/SIGINT flips it to
NOT_SERVING, drains in-flight calls for `shutdown_grace` seconds and closes everything.
Background tasks are supervised and health follows them and the backends
(services.kit.health).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.auth import TokenVerifier, ensure_dev_keys
from services.kit.channels import Channels
from services.kit.db import create_engine
from services.kit.health import Probe, ProcessHealth, watch_dependencies
from services.kit.ids import Snowflake, lease_worker_id
from services.kit.interceptors import ServiceInterceptor
from services.kit.logs import setup_logging
from services.kit.metrics import setup_metrics, shutdown_metrics
from services.kit.paging import configure_page_tokens
from services.kit.redis_client import create_redis
from services.kit.roster import BY_NAME
from services.kit.settings import KitSettings
from services.kit.telemetry import instrument_engine, setup_tracing, shutdown_tracing
from services.kit.work import count_statements
from services.kit.workload import WorkloadIdentity

log = logging.getLogger("koo.server")


TaskFactory = Callable[[], Coroutine[Any, Any, Any]]
FIRST_TASK_BACKOFF = 1.0
MAX_TASK_BACKOFF = 30.0
# A restarted task counts as healthy again once it has run this long without failing.
TASK_HEALTHY_AFTER = 5.0


@dataclass
class Resources:
    """What a service's code gets at start-up, built once from settings."""

    settings: KitSettings
    engine: AsyncEngine | None
    redis: Redis | None
    channels: Channels
    verifier: TokenVerifier | None
    ids: Snowflake
    identity: WorkloadIdentity
    health: ProcessHealth = field(default_factory=ProcessHealth)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Set when a task that cannot be restarted died: the process stops (and its
    # supervisor, `koo up` or Kubernetes, starts it again).
    fatal: asyncio.Event = field(default_factory=asyncio.Event)

    def spawn(self, work: TaskFactory | Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run a background task (a worker loop) for the life of the server.

        Give a function that makes the coroutine (`consumer.run`) and a task that dies is
        started again with backoff, the process reporting NOT_SERVING meanwhile; give a
        coroutine and its death stops the process.
        """
        coro = self._supervise(work, name) if callable(work) else self._once(work, name)
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self.closers.append(closer)

    def require_engine(self, who: str) -> AsyncEngine:
        """PostgreSQL, or a start-up error saying `who` needs it (not an assert: those vanish under -O)."""
        if self.engine is None:
            raise MissingBackend(f"{who} needs PostgreSQL: set KOO_DATABASE_URL")
        return self.engine

    def require_redis(self, who: str) -> Redis:
        """Redis, or a start-up error saying `who` needs it."""
        if self.redis is None:
            raise MissingBackend(f"{who} needs Redis: set KOO_REDIS_URL")
        return self.redis

    async def _once(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        await self.health.task_alive(name)
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("background task %s crashed; stopping the process", name, exc_info=exc)
            await self.health.task_died(name, _why(exc))
            self.fatal.set()

    async def _supervise(self, factory: TaskFactory, name: str) -> None:
        loop = asyncio.get_running_loop()
        backoff = FIRST_TASK_BACKOFF
        await self.health.task_alive(name)
        while True:
            started = loop.time()
            inner = asyncio.create_task(factory(), name=f"{name}-run")
            try:
                if self.health.dead_tasks.get(name):
                    done, _ = await asyncio.wait({inner}, timeout=TASK_HEALTHY_AFTER)
                    if not done:
                        await self.health.task_alive(name)
                await inner
                problem = "stopped although it should run for the life of the process"
            except asyncio.CancelledError:
                # Python 3.11's wait_for can swallow a cancellation (inside redis-py, for
                # one): cancel again until the task has really stopped.
                for _ in range(100):
                    inner.cancel()
                    done, _ = await asyncio.wait({inner}, timeout=0.05)
                    if done:
                        break
                raise
            except Exception as exc:
                log.error("background task %s crashed; restarting it in %gs", name, backoff, exc_info=exc)
                problem = _why(exc)
            if loop.time() - started > MAX_TASK_BACKOFF:
                backoff = FIRST_TASK_BACKOFF
            await self.health.task_died(name, problem)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_TASK_BACKOFF)


class MissingBackend(RuntimeError):
    """A process was started without a backend it cannot work without."""


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def load_verifier(settings: KitSettings) -> TokenVerifier | None:
    path = settings.jwt_public_keys_file
    if path is None and settings.env != "production":
        _, path = ensure_dev_keys(settings.data_dir)
    if path is None:
        return None
    return TokenVerifier.from_file(path, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


async def build_resources(settings: KitSettings, *, name: str) -> Resources:
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size) if settings.database_url else None
    if engine is not None:
        instrument_engine(engine)
        count_statements(engine)
    redis = (
        create_redis(settings.redis_url, pool_size=settings.redis_pool_size, pool_timeout=settings.redis_pool_timeout)
        if settings.redis_url
        else None
    )
    worker_id = settings.worker_id
    if worker_id < 0:
        worker_id = await lease_worker_id(redis) if redis is not None else 0
    identity = settings.workload_identity(name)
    configure_page_tokens(identity.derive("page-tokens"))
    channels = Channels(settings.peer_addrs(), timeout=settings.call_timeout, identity=identity)
    return Resources(
        settings=settings,
        engine=engine,
        redis=redis,
        channels=channels,
        verifier=load_verifier(settings),
        ids=Snowflake(worker_id),
        identity=identity,
    )


def _dependency_probes(res: Resources) -> dict[str, Probe]:
    probes: dict[str, Probe] = {}
    engine, redis = res.engine, res.redis
    if engine is not None:
        used = False

        def connecting(*_args: Any) -> None:
            nonlocal used
            used = True

        # Fired on every attempt to open a connection, failed ones included.
        event.listen(engine.sync_engine, "do_connect", connecting)

        async def postgres() -> None:
            if not used:
                # This process has not used PostgreSQL (yet): its health does not depend on
                # it, and a probe would hold a connection it does not otherwise need.
                return
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        probes["postgres"] = postgres
    if redis is not None:

        async def ping() -> None:
            await redis.ping()

        probes["redis"] = ping
    return probes


async def close_resources(res: Resources) -> None:
    # Cancelled until they stop (see Resources._supervise), at most ~5 s.
    pending = {task for task in res.tasks if not task.done()}
    for _ in range(100):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.05)
    await asyncio.gather(*(t for t in res.tasks if t.done()), return_exceptions=True)
    for closer in reversed(res.closers):
        await closer()
    await res.channels.close()
    if res.redis is not None:
        await res.redis.aclose()
    if res.engine is not None:
        await res.engine.dispose()


Register = Callable[[grpc.aio.Server, Resources], Awaitable[list[str]]]


@dataclass
class RunningServer:
    """A started server with its resources; `stop()` drains and closes everything."""

    name: str
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    resources: Resources
    port: int
    service_names: list[str]

    async def stop(self, grace: float | None = None) -> None:
        await self.resources.health.draining()
        await self.server.stop(self.resources.settings.shutdown_grace if grace is None else grace)
        await close_resources(self.resources)


async def start_server(settings: KitSettings, *, name: str, register: Register) -> RunningServer:
    """Build resources, register servicers, start serving and report SERVING."""
    res = await build_resources(settings, name=name)
    server = grpc.aio.server(
        interceptors=[ServiceInterceptor(res.verifier, res.identity)],
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        options=[("grpc.so_reuseport", 1), ("grpc.max_receive_message_length", 8 * 1024 * 1024)],
    )
    health_servicer = res.health.servicer
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = await register(server, res)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    port = settings.port or (BY_NAME[name].default_port if name in BY_NAME else 0)
    host = settings.listen_host()
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    await res.health.started(names)
    res.spawn(lambda: watch_dependencies(res.health, _dependency_probes(res)), name="dependency-probes")
    log.info("koo %s serving on %s:%d (%s)", name, host, bound, ", ".join(names) or "health only")
    return RunningServer(name, server, health_servicer, res, bound, names)


async def run_service(settings: KitSettings, *, name: str, register: Register) -> None:
    """Serve until SIGTERM/SIGINT. `register` adds servicers and returns their full names."""
    setup_logging(name, settings.log_level, settings.log_format)
    setup_tracing(name, settings.otlp_endpoint)
    setup_metrics(name, settings.otlp_endpoint)
    running = await start_server(settings, name=name, register=register)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    async def drain() -> None:
        fatal = asyncio.create_task(running.resources.fatal.wait())
        await asyncio.wait({asyncio.create_task(stopping.wait()), fatal}, return_when=asyncio.FIRST_COMPLETED)
        log.info("koo %s draining (up to %.0fs)", name, settings.shutdown_grace)
        await running.resources.health.draining()
        await running.server.stop(settings.shutdown_grace)

    drainer = asyncio.create_task(drain())
    try:
        await running.server.wait_for_termination()
    finally:
        drainer.cancel()
        await close_resources(running.resources)
        shutdown_tracing()
        shutdown_metrics()
        log.info("koo %s stopped", name)
    if running.resources.fatal.is_set():
        raise SystemExit(f"koo {name}: {'; '.join(running.resources.health.reasons())}")
