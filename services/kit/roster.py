"""Every process Koo runs, once. Whatever names the processes derives from this list.

Derived here: default ports (`KOO_<NAME>_PORT` moves one), peer addresses (`KOO_<SVC>_ADDR`),
service schemas (migrations), which processes `koo up` and `koo serve` know, the test
harness's stack, the load-test stack and the benchmarks' runtime. Adding a process is one
line here (and, for a gRPC service, its `<name>_addr` setting in settings.py, which a unit
test checks).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Process:
    name: str
    module: str  # a module with SETTINGS_CLASS, make_register(settings) and main()
    kind: Literal["grpc", "http", "worker"]  # a health-checked service, the gateway, an event worker
    default_port: int
    health_name: str = ""  # the gRPC service a health check asks about
    schema: str = ""  # the PostgreSQL schema it owns (its migrations' history)
    # Started by `koo up`? The standalone relay is for production scaling only: on one
    # machine each service relays its own outbox.
    in_up: bool = True

    @property
    def env_name(self) -> str:
        return self.name.upper().replace("-", "_")

    @property
    def port_env(self) -> str:
        """The variable that moves this process to another port, e.g. KOO_GATEWAY_PORT."""
        return f"KOO_{self.env_name}_PORT"

    @property
    def port(self) -> int:
        # Overridable so that several platforms (a developer's and the e2e suite's) can run
        # side by side on one machine.
        return int(os.environ.get(self.port_env) or self.default_port)

    @property
    def addr_env(self) -> str:
        """The variable peers read to find this service, e.g. KOO_USER_ADDR."""
        return f"KOO_{self.env_name}_ADDR"

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


PROCESSES: tuple[Process, ...] = (
    Process("user", "services.user.__main__", "grpc", 7051, "koo.user.v1.UserService", "koo_user"),
    Process("post", "services.post.__main__", "grpc", 7052, "koo.post.v1.PostService", "koo_post"),
    Process("feed", "services.feed.__main__", "grpc", 7053, "koo.feed.v1.FeedService", "koo_feed"),
    Process("search", "services.search.__main__", "grpc", 7054, "koo.search.v1.SearchService", "koo_search"),
    Process("media", "services.media.__main__", "grpc", 7055, "koo.media.v1.MediaService", "koo_media"),
    Process("feed-worker", "services.feed.worker", "worker", 7061),
    Process("search-indexer", "services.search.indexer", "worker", 7062),
    Process("media-worker", "services.media.worker", "worker", 7063),
    Process("outbox-relay", "services.kit.relay_main", "worker", 7064, in_up=False),
    Process("gateway", "gateway.__main__", "http", 8080),
)

BY_NAME = {p.name: p for p in PROCESSES}
# The gRPC services, in start order (peers are found by KOO_<SVC>_ADDR, not by order).
SERVICES = tuple(p.name for p in PROCESSES if p.kind == "grpc")
# PostgreSQL schema per service; migrations run in this order (no schema reads another's).
SCHEMAS = {p.name: p.schema for p in PROCESSES if p.schema}


def default_addr(service: str) -> str:
    """Where a service listens on this machine by default (its KOO_<SVC>_ADDR unless set)."""
    return f"127.0.0.1:{BY_NAME[service].default_port}"
