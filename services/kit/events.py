"""Events: transactional outbox -> relay -> Redis Streams -> consumer groups.

A write and its event commit in one transaction (`add_event` inside the caller's
transaction). The relay moves outbox rows to Redis Streams and deletes them only after
Redis accepted them, so an event written while Redis is down is published when it
returns. Consumers read with consumer groups, acknowledge after the effect, reclaim
messages stuck with a dead consumer (XAUTOCLAIM) and park poison messages in a
dead-letter stream after `max_deliveries`. Delivery is at-least-once: handlers must be
idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

log = logging.getLogger("koo.events")

STREAM_MAXLEN = 1_000_000


def stream_name(topic: str) -> str:
    """`post` -> `koo:events:post`."""
    return f"koo:events:{topic}"


OUTBOX_DDL = """
CREATE TABLE IF NOT EXISTS outbox (
    id          BIGSERIAL PRIMARY KEY,
    topic       TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    payload     JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes the relay of `schema`."""
    return f"{schema}_outbox"


async def add_event(
    db: AsyncSession | AsyncConnection, *, schema: str, topic: str, event_type: str, payload: dict[str, Any]
) -> None:
    """Record an event in the same transaction as the write it describes.

    The NOTIFY is delivered only when the transaction commits, so the relay wakes exactly
    when there is something to publish instead of polling.
    """
    await db.execute(
        text(f'INSERT INTO "{schema}".outbox (topic, event_type, payload) VALUES (:t, :e, CAST(:p AS jsonb))'),
        {"t": topic, "e": event_type, "p": json.dumps(payload, ensure_ascii=False)},
    )
    await db.execute(text("SELECT pg_notify(:c, '')"), {"c": notify_channel(schema)})


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a consumer sees it."""

    event_id: str
    event_type: str
    data: dict[str, Any]
    message_id: str


async def relay_once(engine: AsyncEngine, redis: Redis, *, schema: str, batch: int = 500) -> int:
    """Publish up to `batch` outbox rows; returns how many were published."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    f'SELECT id, topic, event_type, payload FROM "{schema}".outbox '
                    "ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                ),
                {"n": batch},
            )
        ).all()
        if not rows:
            return 0
        pipe = redis.pipeline(transaction=False)
        for row in rows:
            pipe.xadd(
                stream_name(row.topic),
                {
                    "id": f"{schema}:{row.id}",
                    "type": row.event_type,
                    "data": json.dumps(row.payload, ensure_ascii=False),
                },
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        await pipe.execute()
        # Deleted only after Redis took them; a crash in between republishes (consumers
        # are idempotent by event id).
        await conn.execute(
            text(f'DELETE FROM "{schema}".outbox WHERE id = ANY(:ids)'),
            {"ids": [row.id for row in rows]},
        )
    return len(rows)


async def run_relay(engine: AsyncEngine, redis: Redis, *, schema: str, idle_wait: float = 1.0) -> None:
    """Relay forever; backs off while Redis or PostgreSQL is unreachable.

    Between batches it sleeps on LISTEN until a committed write NOTIFYs (or `idle_wait`
    passes, which also retries rows left behind by an earlier failure).
    """
    backoff = 0.1
    listener: psycopg.AsyncConnection[Any] | None = None
    while True:
        try:
            if listener is None or listener.closed:
                listener = await _listen(engine, notify_channel(schema))
            published = await relay_once(engine, redis, schema=schema)
            backoff = 0.1
            if published == 0:
                # aclosing: a cancelled wait must close the generator before the
                # connection, or closing the connection waits on it forever.
                async with contextlib.aclosing(listener.notifies(timeout=idle_wait, stop_after=1)) as wakeups:
                    async for _ in wakeups:
                        pass
        except asyncio.CancelledError:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(listener.close(), 2)
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure: keep rows, retry later
            log.warning("outbox relay for %s waiting: %s", schema, exc)
            if listener is not None and not listener.closed:
                await listener.close()
            listener = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


async def _listen(engine: AsyncEngine, channel: str) -> psycopg.AsyncConnection[Any]:
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    await conn.execute(f'LISTEN "{channel}"')
    return conn


Handler = Callable[[list[Event]], Awaitable[None]]


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    """One consumer in a consumer group, handling messages in batches.

    The handler gets a batch and must apply every event idempotently; if it raises, each
    event of the batch is retried alone so one poison message cannot hold back the rest.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        topic: str,
        group: str,
        handler: Handler,
        name: str | None = None,
        batch: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = 5,
    ) -> None:
        self.redis = redis
        self.stream = stream_name(topic)
        self.dead_letter = f"{self.stream}:dlq:{group}"
        self.group = group
        self.handler = handler
        self.name = name or consumer_name()
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self._claim_cursor = "0-0"

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self.ensure_group()
                while True:
                    await self.step()
                    backoff = 0.1
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("consumer %s/%s waiting for Redis: %s", self.stream, self.group, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def step(self) -> int:
        """Reclaim stuck messages, then read new ones; returns how many were handled."""
        handled = 0
        claimed = await self.redis.xautoclaim(
            self.stream, self.group, self.name, self.claim_idle_ms, self._claim_cursor, count=self.batch
        )
        self._claim_cursor = _text(claimed[0])
        if claimed[1]:
            handled += await self._handle(claimed[1])
        reply: Any = await self.redis.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=self.batch, block=self.block_ms
        )
        for _stream, messages in reply or []:
            handled += await self._handle(messages)
        return handled

    async def _handle(self, messages: list[Any]) -> int:
        events = [_event(mid, fields) for mid, fields in messages if fields]
        # Messages trimmed away while pending come back without fields: just ack them.
        gone = [mid for mid, fields in messages if not fields]
        if gone:
            await self.redis.xack(self.stream, self.group, *gone)
        if not events:
            return 0
        try:
            await self.handler(events)
            await self.redis.xack(self.stream, self.group, *[e.message_id for e in events])
            return len(events)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - isolate the bad message
            log.warning("batch of %d failed on %s; retrying one by one", len(events), self.stream)
        done = 0
        for event in events:
            try:
                await self.handler([event])
                await self.redis.xack(self.stream, self.group, event.message_id)
                done += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                await self._maybe_park(event)
        return done

    async def _maybe_park(self, event: Event) -> None:
        pending = await self.redis.xpending_range(
            self.stream, self.group, min=event.message_id, max=event.message_id, count=1
        )
        deliveries = int(pending[0]["times_delivered"]) if pending else self.max_deliveries
        if deliveries >= self.max_deliveries:
            log.error("parking poison event %s (%s) in %s", event.event_id, event.event_type, self.dead_letter)
            await self.redis.xadd(
                self.dead_letter,
                {"id": event.event_id, "type": event.event_type, "data": json.dumps(event.data, ensure_ascii=False)},
            )
            await self.redis.xack(self.stream, self.group, event.message_id)
        else:
            log.warning("event %s failed (delivery %d); it will be retried", event.event_id, deliveries)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _event(message_id: Any, fields: dict[Any, Any]) -> Event:
    decoded = {_text(k): _text(v) for k, v in fields.items()}
    return Event(
        event_id=decoded.get("id", ""),
        event_type=decoded.get("type", ""),
        data=json.loads(decoded.get("data", "{}")),
        message_id=_text(message_id),
    )
