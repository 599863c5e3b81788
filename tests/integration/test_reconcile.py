"""Anti-entropy: a search entry or a counter that events never fixed (the event was lost
beyond the outbox's retention) is put right from PostgreSQL by a reconcile pass."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from koo.user.v1 import user_service_pb2 as user_pb
from services.kit.db import create_engine
from services.search.backends.postgres import PostgresSearch
from services.search.reconcile import reconcile_search
from services.user.reconcile import reconcile_post_counts
from tests.clients import new_account
from tests.posting import eventually, isolated_stack, publish, users


async def test_reconcile_restores_lost_search_entries_and_counts(
    database_url: str, redis_url: str, data_dir: Path
) -> None:
    async with isolated_stack(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, redis_db=12, overrides={}
    ) as world:
        stack = world.stack
        author = await new_account(stack.channel("user"))
        made = [await publish(stack, author, f"मिलान {i}") for i in range(3)]
        engine = create_engine(world.database_url, pool_size=2)
        try:

            async def indexed() -> set[int]:
                async with engine.connect() as db:
                    rows = await db.execute(text("SELECT post_id FROM koo_search.posts WHERE NOT deleted"))
                    return {int(r.post_id) for r in rows}

            async def count() -> int:
                reply = await users(stack).GetUser(user_pb.GetUserRequest(user_id=author.id), metadata=author.auth)
                return int(reply.user.post_count)

            await eventually(indexed, lambda ids: {p.id for p in made} <= ids)
            await eventually(count, lambda n: n == 3)
            # What a lost event leaves behind: an entry missing, a count off.
            async with engine.begin() as db:
                await db.execute(text("DELETE FROM koo_search.posts WHERE post_id = :id"), {"id": made[0].id})
                await db.execute(text("UPDATE koo_user.users SET post_count = 1 WHERE id = :id"), {"id": author.id})
            assert made[0].id not in await indexed() and await count() == 1

            backend = PostgresSearch(engine)
            searched = await reconcile_search(engine, backend, window_seconds=3600)
            assert searched.indexed == 1 and searched.checked >= 3
            assert made[0].id in await indexed()
            counted = await eventually(
                lambda: reconcile_post_counts(engine, world.redis), lambda r: not r.skipped, within=20
            )
            assert counted.fixed == 1 and await count() == 3
            # A second pass finds nothing to do.
            assert (await reconcile_search(engine, backend, window_seconds=3600)).indexed == 0
            assert (await reconcile_post_counts(engine, world.redis)).fixed == 0
        finally:
            await engine.dispose()
