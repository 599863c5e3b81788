"""Where a running platform is: the same sources `koo up` uses, then its runtime.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from services.kit.roster import SERVICES
from services.kit.settings import KitSettings

RUNTIME_FILE = "runtime.json"


@dataclass(frozen=True)
class Runtime:
    """Backends, service addresses and (when `koo up` runs them) process ids."""

    data_dir: Path
    database_url: str
    redis_url: str
    settings: KitSettings
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def psycopg_url(self) -> str:
        """The database URL as libpq takes it (no SQLAlchemy driver suffix)."""
        url = self.database_url
        for prefix in ("postgresql+psycopg://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql://" + url[len(prefix) :]
        return url

    def gateway_url(self) -> str:
        """The gateway `koo up` runs, else KOO_GATEWAY_PORT (default 8080) on this machine."""
        if "gateway" in self.processes:
            return f"http://127.0.0.1:{self.processes['gateway']['port']}"
        return f"http://127.0.0.1:{os.environ.get('KOO_GATEWAY_PORT', '8080')}"


def read_runtime_file(data_dir: Path) -> dict[str, Any]:
    path = data_dir / RUNTIME_FILE
    if not path.exists():
        return {}
    info: dict[str, Any] = json.loads(path.read_text())
    pid = int(info.get("pid", 0))
    if pid and not _alive(pid):
        return {}  # left behind by a `koo up` that was killed
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_runtime(data_dir: Path, *, need_backends: bool = True) -> Runtime:
    """KOO_DATABASE_URL / KOO_REDIS_URL when set (as `koo up` reads them), else the ones a
    running `koo up --data-dir <data_dir>` recorded in `<data_dir>/runtime.json`."""
    data_dir = data_dir.expanduser().resolve()
    info = read_runtime_file(data_dir)
    database_url = os.environ.get("KOO_DATABASE_URL") or str(info.get("database_url", ""))
    redis_url = os.environ.get("KOO_REDIS_URL") or str(info.get("redis_url", ""))
    if need_backends and not (database_url and redis_url):
        raise click.ClickException(
            f"no running platform found: start `koo up --data-dir {data_dir}` first, "
            "or set KOO_DATABASE_URL and KOO_REDIS_URL"
        )
    os.environ.setdefault("KOO_DATA_DIR", str(data_dir))
    processes: dict[str, dict[str, Any]] = dict(info.get("processes", {}))
    # Peers' addresses: KOO_<SVC>_ADDR when set, else where this `koo up` runs them.
    addrs = {
        f"{name}_addr": f"127.0.0.1:{processes[name]['port']}"
        for name in SERVICES
        if name in processes and not os.environ.get(f"KOO_{name.upper()}_ADDR")
    }
    settings = KitSettings(data_dir=data_dir, database_url=database_url, redis_url=redis_url, **addrs)  # type: ignore[arg-type]
    return Runtime(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        settings=settings,
        processes=processes,
    )
