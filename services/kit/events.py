"""Events: transactional outbox -> relay -> Redis Streams -> consumer groups.

A write and its event commit in one transaction (`add_event` inside the caller's
transaction). The relay moves outbox rows to Redis Streams and deletes them only after
Redis accepted them, so an event written while Redis is down is published when it
returns. Consumers read with consumer groups, acknowledge after the effect, reclaim
messages stuck with a dead consumer (XAUTOCLAIM) and park poison messages in a
dead-letter stream after `max_deliveries`. Delivery is at-least-once: handlers must be
idempotent.

Events are typed: each is a message of protos/koo/events/v1/events.proto, published as a
serialized `koo.events.v1.Envelope` in the stream field `envelope` (see event_types.py).
Entries written before that (fields `id`, `type`, `data` as JSON) and outbox rows without
an envelope are still read and turned into the same typed messages.
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
from datetime import UTC, datetime
from typing import Any

import psycopg
from google.protobuf.message import DecodeError, Message
from opentelemetry import propagate
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from koo.events.v1 import events_pb2
from services.kit.event_types import UndecodableEvent, from_legacy, kind_of, payload_of, wrap

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


# Added to OUTBOX_DDL's table by each publishing service's migration: typed events keep
# their serialized Envelope in `envelope`; `payload` stays only for rows written before.
OUTBOX_ENVELOPE_DDL = "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS envelope BYTEA, ALTER COLUMN payload DROP NOT NULL"


async def add_event(db: AsyncSession | AsyncConnection, *, schema: str, event: Message) -> None:
    """Record `event` (a koo.events.v1 payload message) in the same transaction as its write.

    The envelope carries the caller's trace context, so a consumer's work can join the
    request's trace. The NOTIFY is delivered only when the transaction commits, so the
    relay wakes exactly when there is something to publish instead of polling.
    """
    kind = kind_of(event)
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    envelope = wrap(
        event,
        time=datetime.now(UTC),
        traceparent=carrier.get("traceparent", ""),
        tracestate=carrier.get("tracestate", ""),
    )
    await db.execute(
        text(f'INSERT INTO "{schema}".outbox (topic, event_type, envelope) VALUES (:t, :e, :v)'),
        {"t": kind.topic, "e": kind.event_type, "v": envelope.SerializeToString()},
    )
    await db.execute(text("SELECT pg_notify(:c, '')"), {"c": notify_channel(schema)})


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a consumer sees it.

    Handlers switch on the payload's class, e.g. `match event.payload: case PostCreated():`;
    `payload` is None for an event type added to the protos after this code was built.
    """

    envelope: events_pb2.Envelope
    message_id: str

    @property
    def event_id(self) -> str:
        return self.envelope.id

    @property
    def event_type(self) -> str:
        return self.envelope.type

    @property
    def payload(self) -> Message | None:
        return payload_of(self.envelope)

    def fields(self) -> dict[str, bytes]:
        """The stream entry that carries this event (e.g. to park it in a dead-letter stream)."""
        return {"envelope": self.envelope.SerializeToString()}


async def relay_once(engine: AsyncEngine, redis: Redis, *, schema: str, batch: int = 500) -> int:
    """Publish up to `batch` outbox rows; returns how many were published."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    f'SELECT id, topic, event_type, payload, envelope, created_at FROM "{schema}".outbox '
                    "ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                ),
                {"n": batch},
            )
        ).all()
        if not rows:
            return 0
        pipe = redis.pipeline(transaction=False)
        for row in rows:
            envelope = _outbox_envelope(row)
            envelope.id = f"{schema}:{row.id}"
            pipe.xadd(
                stream_name(row.topic),
                {"envelope": envelope.SerializeToString()},
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


def _outbox_envelope(row: Any) -> events_pb2.Envelope:
    if row.envelope is not None:
        return events_pb2.Envelope.FromString(bytes(row.envelope))
    # A row written before events were typed: its JSON payload becomes the typed message.
    payload = from_legacy(row.event_type, row.payload)
    if payload is None:
        return events_pb2.Envelope(type=row.event_type)
    return wrap(payload, time=row.created_at)


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
        events = [decode_entry(mid, fields) for mid, fields in messages if fields]
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
            await self.redis.xadd(self.dead_letter, event.fields())  # type: ignore[arg-type]
            await self.redis.xack(self.stream, self.group, event.message_id)
        else:
            log.warning("event %s failed (delivery %d); it will be retried", event.event_id, deliveries)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_entry(message_id: Any, fields: dict[Any, Any]) -> Event:
    """Decode a stream entry: an `envelope`, or the JSON fields written before events were typed."""
    raw = {_text(k): v for k, v in fields.items()}
    try:
        if "envelope" in raw:
            envelope = events_pb2.Envelope.FromString(raw["envelope"])
        else:
            envelope = _legacy_envelope(raw, _text(message_id))
    except (DecodeError, ValueError, TypeError) as exc:
        raise UndecodableEvent(f"stream entry {_text(message_id)} is not an event: {exc}") from exc
    return Event(envelope=envelope, message_id=_text(message_id))


def _legacy_envelope(raw: dict[str, Any], message_id: str) -> events_pb2.Envelope:
    event_type = _text(raw.get("type", b""))
    payload = from_legacy(event_type, json.loads(raw.get("data", b"{}")))
    if payload is None:
        envelope = events_pb2.Envelope(type=event_type)
    else:
        # The entry's stream id starts with the milliseconds at which the relay added it.
        added_ms = int(message_id.partition("-")[0])
        envelope = wrap(payload, time=datetime.fromtimestamp(added_ms / 1000, UTC))
    envelope.id = _text(raw.get("id", b""))
    return envelope
