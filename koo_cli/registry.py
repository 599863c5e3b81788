"""Which processes make up Koo and how each one is started."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from services.kit.settings import DEFAULT_PORTS


@dataclass(frozen=True, slots=True)
class Process:
    name: str
    module: str  # a module with a main() function
    kind: str  # "grpc" (health-checked service), "http" (gateway) or "worker"
    health_name: str = ""
    # Started by `koo up`? The standalone relay is for production scaling only: on one
    # machine each service already relays its own outbox.
    in_up: bool = True

    @property
    def port_env(self) -> str:
        """The variable that moves this process to another port, e.g. KOO_GATEWAY_PORT."""
        return f"KOO_{self.name.upper().replace('-', '_')}_PORT"

    @property
    def port(self) -> int:
        # Overridable so that several platforms (a developer's and the e2e suite's) can run
        # side by side on one machine.
        return int(os.environ.get(self.port_env) or DEFAULT_PORTS[self.name])

    @property
    def addr_env(self) -> str:
        """The variable peers read to find this service, e.g. KOO_USER_ADDR."""
        return f"KOO_{self.name.upper().replace('-', '_')}_ADDR"

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


PROCESSES: tuple[Process, ...] = (
    Process("user", "services.user.__main__", "grpc", "koo.user.v1.UserService"),
    Process("post", "services.post.__main__", "grpc", "koo.post.v1.PostService"),
    Process("feed", "services.feed.__main__", "grpc", "koo.feed.v1.FeedService"),
    Process("search", "services.search.__main__", "grpc", "koo.search.v1.SearchService"),
    Process("media", "services.media.__main__", "grpc", "koo.media.v1.MediaService"),
    Process("feed-worker", "services.feed.worker", "worker"),
    Process("search-indexer", "services.search.indexer", "worker"),
    Process("media-worker", "services.media.worker", "worker"),
    Process("outbox-relay", "services.kit.relay_main", "worker", in_up=False),
    Process("gateway", "gateway.__main__", "http"),
)

BY_NAME = {p.name: p for p in PROCESSES}
