"""Background work done every so often (anti-entropy passes), riding out outages."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from services.kit.transient import is_transient

log = logging.getLogger("koo.periodic")


async def run_every(interval: float, work: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Call `work` every `interval` seconds (first after a random part of it, so replicas
    spread out); a dependency outage skips a pass, any other failure ends the task (and its
    supervisor restarts it). `interval` 0: never."""
    if interval <= 0:
        await asyncio.Event().wait()
    await asyncio.sleep(random.uniform(0.1, 1.0) * interval)
    while True:
        try:
            result = await work()
            log.info("%s: %s", name, result)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s skipped: a dependency is down (%s)", name, exc)
        await asyncio.sleep(interval)
