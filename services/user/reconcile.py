"""Anti-entropy for `users.post_count`: make it agree with the posts in PostgreSQL.

The counter moves by post events (services/user/counters.py). Were one lost beyond the
outbox's retention, the count would stay wrong for good; this pass recounts from the post
service's tables and fixes the users whose count differs.

Counting while events are in flight would count a post twice (once here, once when its
event arrives), so a pass first takes its counts, then checks that every post they saw has
had its event applied: no unpublished row in the post outbox and nothing undelivered or
unacknowledged in the `user-counters` group. If something is in flight it changes nothing
and says so (the next pass will do). A fix only applies if the counter has not moved since
it was read. Runs in the user service every KOO_RECONCILE_INTERVAL seconds and on demand
with `koo reconcile`. It reads the `koo_post` schema directly (see services/search/reconcile.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.events import group_stats
from services.post.store import SCHEMA as POST_SCHEMA
from services.user import store

log = logging.getLogger("koo.user.reconcile")

COUNTERS_GROUP = "user-counters"


@dataclass
class CountersReport:
    checked: int = 0
    fixed: int = 0
    skipped: str = ""  # why nothing was changed, when events were in flight


async def reconcile_post_counts(engine: AsyncEngine, redis: Redis) -> CountersReport:
    report = CountersReport()
    async with engine.connect() as db:
        rows = (
            await db.execute(
                text(
                    "SELECT u.id, u.post_count, COALESCE(c.n, 0) AS actual "
                    f"FROM {store.SCHEMA}.users u LEFT JOIN ("
                    f"  SELECT author_id, count(*) AS n FROM {POST_SCHEMA}.posts "
                    "  WHERE deleted_at IS NULL AND reply_to_id IS NULL GROUP BY author_id"
                    ") c ON c.author_id = u.id"
                )
            )
        ).all()
        unpublished = (
            await db.execute(text(f"SELECT count(*) FROM {POST_SCHEMA}.outbox WHERE published_at IS NULL"))
        ).scalar_one()
    report.checked = len(rows)
    stats = await group_stats(redis, "post", COUNTERS_GROUP)
    if unpublished or stats.lag or stats.pending:
        report.skipped = (
            f"events in flight ({unpublished} unpublished, {stats.lag} undelivered, {stats.pending} pending)"
        )
        return report
    wrong = [row for row in rows if row.post_count != row.actual]
    async with engine.begin() as db:
        for row in wrong:
            result = await db.execute(
                text(f"UPDATE {store.SCHEMA}.users SET post_count = :actual WHERE id = :id AND post_count = :seen"),
                {"actual": row.actual, "id": row.id, "seen": row.post_count},
            )
            report.fixed += int(result.rowcount or 0)
    if report.fixed:
        log.warning("reconcile: fixed post_count of %d user(s)", report.fixed)
    return report
