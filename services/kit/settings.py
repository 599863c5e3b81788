"""Typed settings from `KOO_` environment variables, one class per process."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.kit.events import DEFAULT_OUTBOX_RETENTION
from services.kit.redis_client import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT
from services.kit.roster import SERVICES, default_addr
from services.kit.workload import WorkloadIdentity, load_service_key


def default_data_dir() -> Path:
    """A per-user data folder (XDG on Linux), used by `koo up` and dev key material."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "koo"


class KitSettings(BaseSettings):
    """What every Koo process reads. Subclass per process and add its own fields."""

    model_config = SettingsConfigDict(env_prefix="KOO_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    # Interface to listen on; empty means loopback in development and tests (nothing on
    # the network can reach `koo up`), every interface in production (pods, behind the mesh).
    host: str = ""
    port: int = 0
    database_url: str = ""
    redis_url: str = ""
    data_dir: Path = Field(default_factory=default_data_dir)
    log_level: str = "INFO"
    # `json` (one object a line, for log pipelines) or `console` (short coloured lines for a
    # person at a terminal; `koo up` chooses it on a TTY).
    log_format: Literal["json", "console"] = "json"
    otlp_endpoint: str = ""
    # JWKS JSON with the public keys every service accepts (rotation: several keys by kid).
    jwt_public_keys_file: Path | None = None
    jwt_issuer: str = "koo-user-service"
    jwt_audience: str = "koo"
    # The secret behind service tokens between Koo's processes (services.kit.workload);
    # development and tests make one under the data folder.
    service_key_file: Path | None = None
    # Where the other services listen (host:port).
    user_addr: str = default_addr("user")
    post_addr: str = default_addr("post")
    feed_addr: str = default_addr("feed")
    search_addr: str = default_addr("search")
    media_addr: str = default_addr("media")
    # Deadline for service-to-service calls, seconds.
    call_timeout: float = 5.0
    # Connections each process keeps to PostgreSQL (and as many again under bursts).
    db_pool_size: int = 5
    # Redis connections each process keeps, and how long a call waits for a free one
    # (seconds) before it fails as UNAVAILABLE.
    redis_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1)
    redis_pool_timeout: float = Field(default=DEFAULT_POOL_TIMEOUT, gt=0)
    # Calls a service runs at once; gRPC refuses more at once (RESOURCE_EXHAUSTED, which
    # the gateway answers as 503 + Retry-After) rather than queueing them without bound.
    max_concurrent_rpcs: int = Field(default=256, ge=1)
    # Seconds published events stay in the outbox, to be published again should Redis
    # lose its data (older gaps are healed by `koo reconcile`).
    outbox_retention: float = Field(default=DEFAULT_OUTBOX_RETENTION, ge=0)
    # Anti-entropy (`koo reconcile`): how often the search indexer and the user service
    # compare what events built with PostgreSQL (seconds, 0: never), and over how many
    # seconds of posts the search index is checked.
    reconcile_interval: float = Field(default=3600.0, ge=0)
    reconcile_window: float = Field(default=86400.0, gt=0)
    # Snowflake worker id; -1 means lease one from Redis at start-up.
    worker_id: int = -1
    # Seconds the server drains in-flight calls after SIGTERM (matches the k8s preStop).
    shutdown_grace: float = 20.0

    def addr(self, service: str) -> str:
        """Where a peer service listens: the `<service>_addr` setting (`KOO_USER_ADDR`, ...)."""
        address = getattr(self, f"{service}_addr", None)
        if not isinstance(address, str) or not address:
            raise ValueError(f"no address for the {service!r} service: set KOO_{service.upper()}_ADDR")
        return address

    def peer_addrs(self) -> dict[str, str]:
        """Every service's address, by name."""
        return {service: self.addr(service) for service in SERVICES}

    @model_validator(mode="after")
    def _require_backends(self) -> KitSettings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("KOO_DATABASE_URL", self.database_url),
                    ("KOO_REDIS_URL", self.redis_url),
                    ("KOO_JWT_PUBLIC_KEYS_FILE", self.jwt_public_keys_file),
                    ("KOO_SERVICE_KEY_FILE", self.service_key_file),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production needs {', '.join(missing)}")
        return self

    def listen_host(self) -> str:
        if self.host:
            return self.host
        every_interface = "0.0.0.0"  # nosec B104
        return every_interface if self.env == "production" else "127.0.0.1"

    def workload_identity(self, name: str) -> WorkloadIdentity:
        """This process's identity for calls between Koo's processes."""
        key = load_service_key(
            key_file=self.service_key_file, data_dir=self.data_dir, production=self.env == "production"
        )
        return WorkloadIdentity(key, name=name)


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings or stop the process with a message naming the bad variables."""
    try:
        return cls()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"]).upper()
            name = f"KOO_{loc}" if loc else "settings"
            lines.append(f"  {name}: {err['msg']}")
        sys.stderr.write("koo: invalid configuration\n" + "\n".join(lines) + "\n")
        raise SystemExit(2) from None
