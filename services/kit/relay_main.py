"""`koo serve outbox-relay`: publishes the outbox of every service that has events to Redis Streams.

Each service process also relays its own outbox; this standalone relay lets production
scale publishing apart from serving (relays lock rows with SKIP LOCKED, so several run
safely side by side).
"""

from __future__ import annotations

import asyncio
import functools

import grpc

from services.kit.event_types import event_topics
from services.kit.events import run_relay
from services.kit.roster import SCHEMAS
from services.kit.server import Register, Resources, run_service
from services.kit.settings import KitSettings, load_settings

SETTINGS_CLASS = KitSettings


def make_register(settings: KitSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        engine, redis = res.require_engine("the outbox relay"), res.require_redis("the outbox relay")
        for topic in event_topics():  # a topic is named after the service that publishes it
            schema = SCHEMAS[topic]
            res.spawn(
                functools.partial(run_relay, engine, redis, schema=schema, retention=settings.outbox_retention),
                name=f"relay-{schema}",
            )
        return []

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="outbox-relay", register=make_register(settings)))
