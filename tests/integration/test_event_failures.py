"""How a consumer fails: a malformed entry is parked at once and nothing else stops; a
dependency outage is waited out without spending the event's deliveries; an event the
handler cannot apply is parked after `max_deliveries`; `koo events replay` puts parked
events back; names of consumers that are gone leave the group; lag and dead letters are exported."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest
from redis.asyncio import Redis

from koo.events.v1 import events_pb2 as events_pb
from services.kit.event_types import wrap
from services.kit.events import Event, StreamConsumer, dead_letter_stream, group_stats, replay_dead_letters, stream_name
from tests.harness import free_port
from tests.posting import eventually


def envelope_fields(post_id: int) -> dict[str, bytes]:
    payload = events_pb.PostCreated(post_id=post_id, author_id=1, text="x")
    envelope = wrap(payload, time=datetime.now(UTC))
    envelope.id = f"test:{post_id}"
    return {"envelope": envelope.SerializeToString()}


@pytest.fixture
def topic() -> str:
    return f"failures-{uuid.uuid4().hex[:8]}"  # a stream of our own


@contextlib.asynccontextmanager
async def consuming(consumer: StreamConsumer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def post_ids(events: list[Event]) -> list[int]:
    return [int(getattr(e.payload, "post_id", 0)) for e in events]


async def test_a_malformed_entry_is_parked_at_once_and_the_rest_flows(redis: Redis, topic: str) -> None:
    seen: list[int] = []

    async def handler(events: list[Event]) -> None:
        seen.extend(post_ids(events))

    stream = stream_name(topic)
    await redis.xadd(stream, envelope_fields(1))
    await redis.xadd(stream, {"id": "x", "type": "post.created", "data": "{not json"})
    await redis.xadd(stream, {"envelope": b"\xff\xfe not a protobuf"})
    await redis.xadd(stream, envelope_fields(2))
    consumer = StreamConsumer(redis, topic=topic, group="g", handler=handler, block_ms=50)
    async with consuming(consumer) as task:
        await eventually(lambda: asyncio.sleep(0, seen), lambda s: sorted(s) == [1, 2])
        parked = await eventually(lambda: redis.xrange(dead_letter_stream(topic, "g")), lambda p: len(p) == 2)
        assert not task.done()  # the consumer keeps running
    assert all(b"dlq_reason" in fields for _id, fields in parked)
    stats = await group_stats(redis, topic, "g")
    assert (stats.pending, stats.lag, stats.dead_letters) == (0, 0, 2)


async def test_a_dependency_outage_is_waited_out_without_spending_deliveries(
    redis: Redis, topic: str, database_url: str
) -> None:
    # The handler needs PostgreSQL, which is "down" (a closed port) for its first attempts.
    attempts = 0
    applied: list[int] = []
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    stream = stream_name(topic)

    deliveries: list[int] = []

    async def handler(events: list[Event]) -> None:
        nonlocal attempts
        attempts += 1
        mid = events[0].message_id
        pending = await redis.xpending_range(stream, "g", min=mid, max=mid, count=1)
        deliveries.append(int(pending[0]["times_delivered"]))
        async with await psycopg.AsyncConnection.connect(down if attempts <= 6 else database_url) as conn:
            await conn.execute("SELECT 1")
        applied.extend(post_ids(events))

    await redis.xadd(stream, envelope_fields(7))
    # Reclaimed after 50 ms idle and parked after 2 deliveries, were the outage counted.
    consumer = StreamConsumer(
        redis, topic=topic, group="g", handler=handler, block_ms=50, claim_idle_ms=50, max_deliveries=2, max_backoff=0.3
    )
    async with consuming(consumer):
        await eventually(lambda: asyncio.sleep(0, applied), lambda a: a == [7], within=30)
    assert attempts >= 7
    assert set(deliveries) == {1}  # every retry on the one delivery
    assert await redis.xlen(dead_letter_stream(topic, "g")) == 0
    assert (await redis.xpending(stream, "g"))["pending"] == 0


async def test_an_event_the_handler_rejects_is_parked_after_its_deliveries_and_can_be_replayed(
    redis: Redis, topic: str
) -> None:
    fixed = False
    applied: list[int] = []

    async def handler(events: list[Event]) -> None:
        if 13 in post_ids(events) and not fixed:
            raise ValueError("a bug in the handler")
        applied.extend(post_ids(events))

    stream = stream_name(topic)
    for post_id in (12, 13, 14):
        await redis.xadd(stream, envelope_fields(post_id))
    consumer = StreamConsumer(
        redis, topic=topic, group="g", handler=handler, block_ms=50, claim_idle_ms=50, max_deliveries=3
    )
    await consumer.ensure_group()

    async def parked() -> int:
        await consumer.step()  # reads, and reclaims what has been idle 50 ms
        return int(await redis.xlen(dead_letter_stream(topic, "g")))

    await eventually(parked, lambda n: n == 1, within=20, interval=0.06)
    assert sorted(applied) == [12, 14]
    # The handler is fixed (a new release); the operator replays the dead letters.
    fixed = True
    assert await replay_dead_letters(redis, topic=topic, group="g") == 1

    async def applied_now() -> list[int]:
        await consumer.step()
        return sorted(applied)

    await eventually(applied_now, lambda a: a == [12, 13, 14])
    assert await redis.xlen(dead_letter_stream(topic, "g")) == 0


async def test_consumer_names_left_by_dead_processes_are_removed(redis: Redis, topic: str) -> None:
    async def handler(events: list[Event]) -> None:
        return None

    stream = stream_name(topic)
    await redis.xadd(stream, envelope_fields(1))
    # Two processes that read from the group and went away: one acknowledged everything,
    # the other died holding an entry.
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    await redis.xreadgroup("g", "gone-clean", {stream: ">"}, count=1)
    await redis.xack(stream, "g", *[m for m, _f in (await redis.xrange(stream))])
    await redis.xadd(stream, envelope_fields(2))
    await redis.xreadgroup("g", "gone-holding", {stream: ">"}, count=1)
    await asyncio.sleep(0.1)
    live = StreamConsumer(
        redis, topic=topic, group="g", handler=handler, name="live", stale_after_ms=50, claim_idle_ms=10_000
    )
    assert await live.forget_stale_consumers() == ["gone-clean"]  # the other still holds an entry
    names = {c["name"] for c in await redis.xinfo_consumers(stream, "g")}
    assert names == {b"gone-holding"} or names == {"gone-holding"}


async def test_lag_and_dead_letters_are_exported_as_metrics(redis: Redis, topic: str) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from services.kit.metrics import register_event_gauges

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    register_event_gauges(provider.get_meter("test"))

    async def handler(events: list[Event]) -> None:
        return None

    stream = stream_name(topic)
    await redis.xadd(stream, {"envelope": b"\xff not an event"})
    for post_id in range(3):
        await redis.xadd(stream, envelope_fields(post_id))
    consumer = StreamConsumer(redis, topic=topic, group="g", handler=handler, block_ms=50)
    await consumer.ensure_group()
    await consumer._housekeeping()  # the figures before anything was read

    def figures() -> dict[str, float]:
        data = reader.get_metrics_data()
        out: dict[str, float] = {}
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        if point.attributes.get("stream") == stream:
                            out[metric.name] = point.value
        return out

    before = figures()
    assert before["koo.events.consumer.lag"] == 4 and before["koo.events.dead_letters"] == 0
    await consumer.step()
    consumer._next_housekeeping = 0.0
    await consumer._housekeeping()
    after = figures()
    assert after["koo.events.consumer.lag"] == 0 and after["koo.events.consumer.pending"] == 0
    assert after["koo.events.dead_letters"] == 1
    provider.shutdown()
