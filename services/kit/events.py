"""Events: transactional outbox -> relay -> Redis Streams -> consumer groups.

A write and its event commit in one transaction (`add_event` inside the caller's
transaction). The relay moves outbox rows to Redis Streams and marks them published
only after Redis accepted them, so an event written while Redis is down is published when
it returns; published rows stay for a retention window and are published again if Redis
loses its data. Consumers read with consumer groups, acknowledge after the effect, reclaim
messages stuck with a dead consumer (XAUTOCLAIM), ride out dependency outages without
giving up on an event, and park events that cannot be applied in a dead-letter stream
(see StreamConsumer). Delivery is at-least-once: handlers must be idempotent.

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
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from google.protobuf.message import DecodeError, Message
from opentelemetry import propagate
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from koo.events.v1 import events_pb2
from services.kit.event_types import UndecodableEvent, from_legacy, kind_of, payload_of, wrap
from services.kit.transient import is_transient

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


# Added to the outbox by each publishing service's migration: rows stay after they are
# published (`published_at`) for the retention window, so that events Redis loses (a
# restart without its data) are published again from PostgreSQL.
OUTBOX_RETENTION_DDL = (
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS published_at TIMESTAMPTZ",
    "CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL",
    "CREATE INDEX IF NOT EXISTS outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL",
)
# Seconds published events stay in the outbox (KOO_OUTBOX_RETENTION).
DEFAULT_OUTBOX_RETENTION = 3600.0
PRUNE_EVERY = 60.0

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
                    "WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
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
        # Marked only after Redis took them; a crash in between republishes (consumers
        # are idempotent by event id). Kept for the retention window (prune_outbox).
        await conn.execute(
            text(f'UPDATE "{schema}".outbox SET published_at = now() WHERE id = ANY(:ids)'),
            {"ids": [row.id for row in rows]},
        )
    return len(rows)


def _marker(schema: str) -> str:
    return f"koo:events:relayed:{schema}"


async def republish_if_redis_forgot(engine: AsyncEngine, redis: Redis, *, schema: str) -> int:
    """Publish the retained events again when Redis has lost its data; returns how many.

    The relay keeps a marker key in Redis: when it is missing, Redis was restarted without
    its data (or flushed), and the streams may have lost events not yet consumed. Every
    retained row is then published again (consumers are idempotent by event id); what is
    older than the retention window is left to reconciliation (`koo reconcile`).
    """
    if await redis.exists(_marker(schema)):
        return 0
    async with engine.begin() as conn:
        result = await conn.execute(
            text(f'UPDATE "{schema}".outbox SET published_at = NULL WHERE published_at IS NOT NULL')
        )
    await redis.set(_marker(schema), datetime.now(UTC).isoformat())
    count = int(result.rowcount or 0)
    if count:
        log.warning("Redis lost its data: publishing %d retained %s events again", count, schema)
    return count


async def prune_outbox(engine: AsyncEngine, *, schema: str, retention: float) -> int:
    """Delete published rows older than `retention` seconds; returns how many."""
    async with engine.begin() as conn:
        result = await conn.execute(
            text(
                f'DELETE FROM "{schema}".outbox WHERE published_at IS NOT NULL '
                "AND published_at < now() - make_interval(secs => :r)"
            ),
            {"r": retention},
        )
    return int(result.rowcount or 0)


def _outbox_envelope(row: Any) -> events_pb2.Envelope:
    if row.envelope is not None:
        return events_pb2.Envelope.FromString(bytes(row.envelope))
    # A row written before events were typed: its JSON payload becomes the typed message.
    payload = from_legacy(row.event_type, row.payload)
    if payload is None:
        return events_pb2.Envelope(type=row.event_type)
    return wrap(payload, time=row.created_at)


async def run_relay(
    engine: AsyncEngine,
    redis: Redis,
    *,
    schema: str,
    idle_wait: float = 1.0,
    retention: float = DEFAULT_OUTBOX_RETENTION,
) -> None:
    """Relay forever; backs off while Redis or PostgreSQL is unreachable.

    Between batches it sleeps on LISTEN until a committed write NOTIFYs (or `idle_wait`
    passes, which also retries rows left behind by an earlier failure). Each pass first
    checks that Redis still has what was published (republish_if_redis_forgot); published
    rows older than `retention` seconds are pruned once a minute.
    """
    backoff = 0.1
    listener: psycopg.AsyncConnection[Any] | None = None
    next_prune = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if listener is None or listener.closed:
                listener = await _listen(engine, notify_channel(schema))
            await republish_if_redis_forgot(engine, redis, schema=schema)
            if loop.time() >= next_prune:
                await prune_outbox(engine, schema=schema, retention=retention)
                next_prune = loop.time() + PRUNE_EVERY
            published = await relay_once(engine, redis, schema=schema)
            backoff = 0.1
            if published == 0:
                # aclosing: a cancelled wait must close the generator before the
                # connection, or closing the connection waits on it forever.
                async with contextlib.aclosing(listener.notifies(timeout=idle_wait, stop_after=1)) as wakeups:
                    async for _ in wakeups:
                        pass  # the wait itself is the point: one NOTIFY (stop_after=1) or the timeout ends it
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

# Consumers alive in this process, for the metrics (services.kit.metrics) and `koo events`.
LIVE_CONSUMERS: weakref.WeakSet[StreamConsumer] = weakref.WeakSet()


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def dead_letter_stream(topic: str, group: str) -> str:
    """Where `group` parks the events of `topic` it cannot apply: `koo:events:post:dlq:feed-fanout`."""
    return f"{stream_name(topic)}:dlq:{group}"


@dataclass
class ConsumerStats:
    """What the metrics export per stream and group (refreshed by the consumer itself)."""

    lag: int = 0  # entries not yet delivered to the group (counted up to LAG_COUNT_CAP)
    pending: int = 0  # delivered, not yet acknowledged
    dead_letters: int = 0  # entries in the group's dead-letter stream
    oldest_unacked_seconds: float = 0.0  # age of the oldest entry delivered but not acknowledged
    waiting_for: str = ""  # the dependency outage the consumer is riding out, if any


LAG_COUNT_CAP = 10_000


class StreamConsumer:
    """One consumer in a consumer group, handling messages in batches.

    Failures are told apart (services.kit.transient):
    - an entry that cannot be decoded is parked in the dead-letter stream at once: no retry
      can fix it, and it must not hold back what follows;
    - a dependency outage (PostgreSQL, Redis, a peer down) is retried with backoff for as long
      as it takes, on the same messages, without counting deliveries against them: they stay
      this consumer's (XCLAIM JUSTID keeps them from looking idle) and are never parked for it;
    - any other failure of the handler is the event's: the batch is retried one event at a
      time, and an event that fails `max_deliveries` deliveries is parked.
    Parked events go back with `koo events replay`. Consumer names left by processes that
    are gone (no pending entries, idle for `stale_after_ms`) are removed from the group.
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
        max_backoff: float = 10.0,
        stale_after_ms: int = 600_000,
        stats_every: float = 15.0,
    ) -> None:
        self.redis = redis
        self.topic = topic
        self.stream = stream_name(topic)
        self.dead_letter = dead_letter_stream(topic, group)
        self.group = group
        self.handler = handler
        self.name = name or consumer_name()
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.max_backoff = max_backoff
        self.stale_after_ms = stale_after_ms
        self.stats_every = stats_every
        self.stats = ConsumerStats()
        self._claim_cursor = "0-0"
        self._own_pending_checked = False
        self._next_housekeeping = 0.0
        LIVE_CONSUMERS.add(self)

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
                # After a restart of this loop (Redis was away), first finish what this
                # consumer already holds.
                self._own_pending_checked = False
                while True:
                    await self.step()
                    backoff = 0.1
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                # NOGROUP, or UNBLOCKED for a read that was waiting when the key went.
                if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                    raise
                # Redis lost the stream or the group (restarted without its data): make it
                # again; the relays republish what the outboxes still hold.
                log.warning("consumer group %s/%s is gone; creating it again", self.stream, self.group)
            except Exception as exc:
                if not is_transient(exc):
                    raise  # a bug: the task dies, the process says NOT_SERVING and restarts it
                log.warning("consumer %s/%s waiting for Redis: %s", self.stream, self.group, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def step(self) -> int:
        """Reclaim stuck messages, then read new ones; returns how many were handled."""
        handled = 0
        await self._housekeeping()
        if not self._own_pending_checked:
            # Entries this consumer was given but never acknowledged (reading history does
            # not count as a delivery).
            mine: Any = await self.redis.xreadgroup(self.group, self.name, {self.stream: "0"}, count=self.batch)
            self._own_pending_checked = True  # once: what fails again waits for XAUTOCLAIM
            entries = [m for _s, messages in mine or [] for m in messages]
            if entries:
                handled += await self._handle(entries)
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
        events: list[Event] = []
        gone: list[str] = []
        for mid, fields in messages:
            if not fields:
                # Trimmed away while pending: nothing left to apply.
                gone.append(_text(mid))
                continue
            try:
                events.append(decode_entry(mid, fields))
            except UndecodableEvent as exc:
                await self._park_raw(_text(mid), fields, str(exc))
        if gone:
            await self.redis.xack(self.stream, self.group, *gone)
        if not events:
            return 0
        try:
            await self._apply(events)
            await self.redis.xack(self.stream, self.group, *[e.message_id for e in events])
            return len(events)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # _apply rides out dependency outages itself: a transient error here is Redis
            # failing under us; the run loop waits for it and re-reads what we hold.
            if is_transient(exc):
                raise
            if len(events) == 1:
                await self._maybe_park(events[0])
                return 0
            log.warning("batch of %d failed on %s; retrying one by one", len(events), self.stream, exc_info=True)
        done = 0
        for event in events:
            try:
                await self._apply([event])
                await self.redis.xack(self.stream, self.group, event.message_id)
                done += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient(exc):
                    raise
                await self._maybe_park(event)
        return done

    async def _apply(self, events: list[Event]) -> None:
        """Run the handler; while it fails because a dependency is down, wait and retry."""
        backoff = 0.2
        while True:
            try:
                await self.handler(events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if not self.stats.waiting_for:
                    log.warning("consumer %s/%s: a dependency is down (%s); retrying", self.stream, self.group, exc)
                self.stats.waiting_for = f"{type(exc).__name__}: {exc}"[:200]
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                await self._keep(events)
                continue
            if self.stats.waiting_for:
                log.warning("consumer %s/%s: dependency back", self.stream, self.group)
                self.stats.waiting_for = ""
            return

    async def _keep(self, events: list[Event]) -> None:
        """Keep these entries this consumer's while it retries, without counting a delivery.

        XCLAIM with JUSTID resets their idle time (no other consumer reclaims them) and
        leaves the delivery count alone. A Redis error here ends the step; the loop
        re-reads this consumer's pending entries once Redis answers.
        """
        ids: list[str | bytes | int | memoryview[int]] = [e.message_id for e in events]
        await self.redis.xclaim(self.stream, self.group, self.name, 0, ids, justid=True)

    async def _maybe_park(self, event: Event) -> None:
        pending = await self.redis.xpending_range(
            self.stream, self.group, min=event.message_id, max=event.message_id, count=1
        )
        deliveries = int(pending[0]["times_delivered"]) if pending else self.max_deliveries
        if deliveries >= self.max_deliveries:
            log.error("parking event %s (%s) in %s", event.event_id, event.event_type, self.dead_letter, exc_info=True)
            await self._park(event.message_id, event.fields(), f"failed {deliveries} deliveries")
        else:
            log.warning(
                "event %s failed (delivery %d of %d); it will be retried",
                event.event_id,
                deliveries,
                self.max_deliveries,
                exc_info=True,
            )

    async def _park_raw(self, message_id: str, fields: dict[Any, Any], reason: str) -> None:
        log.error("parking undecodable entry %s of %s in %s: %s", message_id, self.stream, self.dead_letter, reason)
        await self._park(message_id, {_text(k): v for k, v in fields.items()}, reason)

    async def _park(self, message_id: str, fields: dict[str, Any], reason: str) -> None:
        # The original entry, plus why and from where: `koo events replay` puts it back.
        parked = {**fields, "dlq_reason": reason[:500], "dlq_source_id": message_id}
        await self.redis.xadd(self.dead_letter, parked)  # type: ignore[arg-type]
        await self.redis.xack(self.stream, self.group, message_id)
        self.stats.dead_letters += 1

    async def _housekeeping(self) -> None:
        """Every `stats_every` seconds: refresh the stats and forget consumers that are gone."""
        now = asyncio.get_running_loop().time()
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + self.stats_every
        await self.forget_stale_consumers()
        self.stats = await group_stats(self.redis, self.topic, self.group, waiting_for=self.stats.waiting_for)

    async def forget_stale_consumers(self) -> list[str]:
        """Delete consumers of the group that hold nothing and have been idle too long.

        Never one with pending entries: deleting it would drop them. XAUTOCLAIM moves
        those to live consumers first; the name goes on a later pass.
        """
        removed: list[str] = []
        for info in await self.redis.xinfo_consumers(self.stream, self.group):
            name = _text(info["name"])
            if name == self.name or int(info["pending"]) > 0 or int(info["idle"]) < self.stale_after_ms:
                continue
            await self.redis.xgroup_delconsumer(self.stream, self.group, name)
            removed.append(name)
        if removed:
            log.info("removed %d stale consumer(s) from %s/%s: %s", len(removed), self.stream, self.group, removed)
        return removed


async def group_stats(redis: Redis, topic: str, group: str, *, waiting_for: str = "") -> ConsumerStats:
    """Lag, pending, dead letters and the age of the oldest unacknowledged entry of a group."""
    stream = stream_name(topic)
    stats = ConsumerStats(waiting_for=waiting_for)
    stats.dead_letters = int(await redis.xlen(dead_letter_stream(topic, group)))
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        return stats
    info = next((g for g in groups if _text(g["name"]) == group), None)
    if info is None:
        return stats
    stats.pending = int(info["pending"])
    lag = info.get("lag")
    if lag is not None:  # Redis 7
        stats.lag = int(lag)
    else:
        after = _text(info["last-delivered-id"])
        stats.lag = len(await redis.xrange(stream, min=f"({after}", count=LAG_COUNT_CAP) or [])
    if stats.pending:
        oldest: Any = await redis.xpending(stream, group)
        first = _text(oldest.get("min") or "0-0")
        stats.oldest_unacked_seconds = max(0.0, time.time() - int(first.partition("-")[0]) / 1000)
    return stats


async def replay_dead_letters(redis: Redis, *, topic: str, group: str) -> int:
    """Put the events `group` parked back on their stream; returns how many.

    The stream feeds every group, so other groups see these events again too, which
    at-least-once handlers absorb (they are idempotent by event id). Entries that still
    cannot be decoded stay where they are: replaying them would only park them again.
    """
    parked = dead_letter_stream(topic, group)
    replayed = 0
    cursor = "-"
    while True:
        entries: Any = await redis.xrange(parked, min=cursor, count=100)
        if not entries:
            return replayed
        for entry_id, fields in entries:
            original = {k: v for k, v in fields.items() if not _text(k).startswith("dlq_")}
            try:
                decode_entry("0-1", original)
            except UndecodableEvent:
                continue
            await redis.xadd(stream_name(topic), original, maxlen=STREAM_MAXLEN, approximate=True)
            await redis.xdel(parked, entry_id)
            replayed += 1
        cursor = f"({_text(entries[-1][0])}"


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
