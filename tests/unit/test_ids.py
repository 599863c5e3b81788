"""Snowflake ids: unique and increasing across tasks, threads and processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import time

from services.kit.ids import Snowflake, id_to_unix_ms, min_id_at


def _ids_in_process(worker_id: int, count: int, out: multiprocessing.Queue[list[int]]) -> None:
    gen = Snowflake(worker_id)
    out.put([gen.next_id() for _ in range(count)])


async def test_ids_increase_and_are_unique_across_concurrent_tasks() -> None:
    gen = Snowflake(7)

    async def take(n: int) -> list[int]:
        got = []
        for _ in range(n):
            got.append(gen.next_id())
            await asyncio.sleep(0)
        return got

    batches = await asyncio.gather(*(take(2000) for _ in range(10)))
    for batch in batches:
        assert batch == sorted(batch)
    every = [i for b in batches for i in b]
    assert len(set(every)) == 20_000


def test_ids_are_unique_across_processes_with_distinct_workers() -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = ctx.Queue()
    procs = [ctx.Process(target=_ids_in_process, args=(w, 5000, queue)) for w in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    every = [i for r in results for i in r]
    assert len(set(every)) == 20_000
    assert all(r == sorted(r) for r in results)


def test_more_than_4096_ids_in_one_millisecond_still_unique() -> None:
    gen = Snowflake(1)
    ids = [gen.next_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)


def test_ids_carry_their_time() -> None:
    before = int(time.time() * 1000)
    issued = Snowflake(3).next_id()
    after = int(time.time() * 1000)
    assert before <= id_to_unix_ms(issued) <= after
    assert min_id_at(before) <= issued
