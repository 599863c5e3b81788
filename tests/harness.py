"""Starts Koo's services in the test process, on real sockets, wired to each other.

Every service module exposes `SETTINGS_CLASS` and `make_register(settings)`; the stack
builds each one's settings with the test backends and pre-picked free ports, so calls
between services go over real gRPC exactly as in production.

Internal RPCs answer only Koo workloads (services.kit.workload): `stack.channel(name)` and
`stack.connect(address)` carry the `tests` workload's service token, made with the same
dev service key the services use (it lives in the run's data folder).
"""

from __future__ import annotations

import importlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from services.kit.channels import open_channel
from services.kit.roster import BY_NAME, PROCESSES, SERVICES
from services.kit.server import RunningServer, start_server
from services.kit.workload import METADATA_KEY, WorkloadIdentity, load_service_key

# Workers (event consumers) run in the test process too, as `koo up` starts them.
WORKERS = tuple(p.name for p in PROCESSES if p.kind == "worker" and p.in_up)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def identity_for_tests(data_dir: Path) -> WorkloadIdentity:
    """The identity tests call internal RPCs with (the run's dev service key)."""
    return WorkloadIdentity(load_service_key(key_file=None, data_dir=data_dir, production=False), name="tests")


@dataclass
class Stack:
    """Running services by name, and channels to them."""

    ports: dict[str, int]
    identity: WorkloadIdentity
    servers: dict[str, RunningServer] = field(default_factory=dict)
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    def addr(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def connect(self, address: str) -> grpc.aio.Channel:
        """A new channel to `address` whose calls carry the tests' service token."""
        return open_channel(address, timeout=120.0, identity=self.identity)

    def channel(self, name: str) -> grpc.aio.Channel:
        if name not in self.channels:
            self.channels[name] = self.connect(self.addr(name))
        return self.channels[name]

    def workload_metadata(self) -> tuple[tuple[str, str]]:
        """Metadata that lets a channel of one's own (e.g. a blocking one) call internal RPCs."""
        return ((METADATA_KEY, self.identity.token()),)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
        for server in reversed(list(self.servers.values())):
            await server.stop(grace=0.5)


def base_settings(*, database_url: str, redis_url: str, data_dir: Path, ports: dict[str, int]) -> dict[str, Any]:
    return {
        "env": "test",
        "host": "127.0.0.1",
        "database_url": database_url,
        "redis_url": redis_url,
        "data_dir": data_dir,
        "log_level": "WARNING",
        "shutdown_grace": 0.5,
        **{f"{name}_addr": f"127.0.0.1:{port}" for name, port in ports.items()},
        # Cheap password hashing keeps the suite fast; production uses RFC 9106 costs.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
        "argon2_parallelism": 1,
    }


async def start_stack(
    *, database_url: str, redis_url: str, data_dir: Path, overrides: dict[str, dict[str, Any]] | None = None
) -> Stack:
    stack = Stack(ports={name: free_port() for name in SERVICES}, identity=identity_for_tests(data_dir))
    common = base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports=stack.ports)
    workers = [p for p in PROCESSES if p.name in WORKERS and p.available()]
    for name in (*SERVICES, *(w.name for w in workers)):
        module = importlib.import_module(BY_NAME[name].module)
        if name not in stack.ports:
            stack.ports[name] = free_port()
        settings_cls = module.SETTINGS_CLASS
        wanted = {**common, "port": stack.ports[name], **(overrides or {}).get(name, {})}
        settings = settings_cls(**{k: v for k, v in wanted.items() if k in settings_cls.model_fields})
        stack.servers[name] = await start_server(settings, name=name, register=module.make_register(settings))
    return stack
