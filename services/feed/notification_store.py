"""SQL for notifications (schema koo_feed). Functions take an open connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

SCHEMA = "koo_feed"
# Entries are grouped over a reader's newest notifications only: a page costs the same
# however long someone has been on Koo.
GROUP_WINDOW = 2_000


@dataclass(frozen=True, slots=True)
class NewNotification:
    recipient_id: int
    kind: int
    actor_id: int
    post_id: int = 0
    subject_id: int = 0


@dataclass(frozen=True, slots=True)
class Group:
    """One entry of the list: the same kind of thing done to the same post."""

    id: int  # the newest notification in it
    kind: int
    post_id: int
    latest_subject_id: int
    actor_ids: list[int]  # newest first, at most three
    actor_count: int
    updated_at: datetime


async def first_time(db: AsyncConnection, *, event_id: str) -> bool:
    """Record an event as handled; False when it already was (a redelivery)."""
    row = (
        await db.execute(
            text(f"INSERT INTO {SCHEMA}.notification_events (event_id) VALUES (:e) ON CONFLICT DO NOTHING RETURNING 1"),
            {"e": event_id},
        )
    ).first()
    return row is not None


async def insert(db: AsyncConnection, *, ids: Sequence[int], rows: Sequence[NewNotification]) -> list[NewNotification]:
    """Insert notifications; returns those that are new."""
    added_rows: list[NewNotification] = []
    for nid, row in zip(ids, rows, strict=True):
        added = (
            await db.execute(
                text(
                    f"INSERT INTO {SCHEMA}.notifications (id, recipient_id, kind, actor_id, post_id, subject_id) "
                    "VALUES (:id, :r, :k, :a, :p, :s) ON CONFLICT DO NOTHING RETURNING recipient_id"
                ),
                {
                    "id": nid,
                    "r": row.recipient_id,
                    "k": row.kind,
                    "a": row.actor_id,
                    "p": row.post_id,
                    "s": row.subject_id,
                },
            )
        ).first()
        if added is not None:
            added_rows.append(row)
    return added_rows


async def withdraw(db: AsyncConnection, *, recipient_id: int, kind: int, actor_id: int, post_id: int = 0) -> None:
    await db.execute(
        text(
            f"DELETE FROM {SCHEMA}.notifications WHERE recipient_id = :r AND kind = :k AND actor_id = :a "
            "AND post_id = :p"
        ),
        {"r": recipient_id, "k": kind, "a": actor_id, "p": post_id},
    )


async def withdraw_post(db: AsyncConnection, *, post_id: int) -> None:
    """Everything about a post that is gone: its likes, replies and re-koos, and what it
    caused; not the moderators' notice to its author (kind 6), which outlives it."""
    await db.execute(text(f"DELETE FROM {SCHEMA}.notifications WHERE post_id = :p AND kind <> 6"), {"p": post_id})
    await db.execute(text(f"DELETE FROM {SCHEMA}.notifications WHERE subject_id = :p AND kind <> 6"), {"p": post_id})


async def withdraw_between(db: AsyncConnection, *, a: int, b: int) -> None:
    """What two people did to each other (after a block)."""
    await db.execute(
        text(
            f"DELETE FROM {SCHEMA}.notifications WHERE (recipient_id = :a AND actor_id = :b) "
            "OR (recipient_id = :b AND actor_id = :a)"
        ),
        {"a": a, "b": b},
    )


_GROUPS = f"""
WITH n AS (
    SELECT id, kind, actor_id, post_id, subject_id, created_at FROM {SCHEMA}.notifications
    WHERE recipient_id = :r AND actor_id <> ALL(CAST(:hidden AS BIGINT[]))
    ORDER BY id DESC LIMIT {GROUP_WINDOW}
), g AS (
    SELECT kind, post_id, max(id) AS latest, count(DISTINCT actor_id) AS actor_count,
           max(created_at) AS updated_at
    FROM n GROUP BY kind, post_id
)
SELECT g.latest, g.kind, g.post_id, g.actor_count, g.updated_at,
       (SELECT n2.subject_id FROM n n2 WHERE n2.id = g.latest) AS latest_subject_id,
       ARRAY(SELECT a.actor_id FROM n a WHERE a.kind = g.kind AND a.post_id = g.post_id
             GROUP BY a.actor_id ORDER BY max(a.id) DESC LIMIT 3) AS actor_ids
FROM g WHERE g.latest < :before ORDER BY g.latest DESC LIMIT :limit
"""


async def groups(
    db: AsyncConnection, *, recipient_id: int, hidden: Sequence[int], before_id: int, limit: int
) -> list[Group]:
    rows = await db.execute(
        text(_GROUPS),
        {"r": recipient_id, "hidden": list(hidden), "before": before_id or 2**63 - 1, "limit": limit},
    )
    return [
        Group(
            id=r.latest,
            kind=r.kind,
            post_id=r.post_id,
            latest_subject_id=r.latest_subject_id or 0,
            actor_ids=list(r.actor_ids),
            actor_count=r.actor_count,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


async def unread_count(db: AsyncConnection, *, recipient_id: int, hidden: Sequence[int]) -> int:
    """Entries whose newest notification is past the read mark."""
    row = (
        await db.execute(
            text(
                f"""
                WITH n AS (
                    SELECT id, kind, post_id FROM {SCHEMA}.notifications
                    WHERE recipient_id = :r AND actor_id <> ALL(CAST(:hidden AS BIGINT[]))
                    ORDER BY id DESC LIMIT {GROUP_WINDOW}
                )
                SELECT count(*) AS unread FROM (
                    SELECT 1 FROM n GROUP BY kind, post_id
                    HAVING max(id) > COALESCE(
                        (SELECT read_up_to FROM {SCHEMA}.notification_reads WHERE recipient_id = :r), 0)
                ) u
                """
            ),
            {"r": recipient_id, "hidden": list(hidden)},
        )
    ).one()
    return int(row.unread)


async def read_mark(db: AsyncConnection, *, recipient_id: int) -> int:
    row = (
        await db.execute(
            text(f"SELECT read_up_to FROM {SCHEMA}.notification_reads WHERE recipient_id = :r"), {"r": recipient_id}
        )
    ).first()
    return int(row.read_up_to) if row else 0


async def mark_read(db: AsyncConnection, *, recipient_id: int, up_to_id: int) -> None:
    """Move the read mark forward to `up_to_id` (to the newest notification when 0); never
    past the newest, so a mark from the future cannot swallow notifications to come."""
    await db.execute(
        text(
            f"""
            INSERT INTO {SCHEMA}.notification_reads AS r (recipient_id, read_up_to)
            SELECT :r, CASE WHEN :up > 0 THEN LEAST(:up, m.newest) ELSE m.newest END
            FROM (SELECT COALESCE(max(id), 0) AS newest FROM {SCHEMA}.notifications WHERE recipient_id = :r) m
            ON CONFLICT (recipient_id) DO UPDATE SET read_up_to = GREATEST(r.read_up_to, EXCLUDED.read_up_to)
            """
        ),
        {"r": recipient_id, "up": up_to_id},
    )


async def forget_old_events(db: AsyncConnection, *, older_than_days: int) -> None:
    """The ledger only needs to outlive redeliveries (hours at most)."""
    await db.execute(
        text(f"DELETE FROM {SCHEMA}.notification_events WHERE processed_at < now() - make_interval(days => :d)"),
        {"d": older_than_days},
    )


# Push devices -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    user_id: int
    platform: int
    endpoint: str
    created_at: datetime


async def upsert_device(
    db: AsyncConnection, *, device_id: int, user_id: int, platform: int, token: str, endpoint: str
) -> Device:
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.push_devices AS d (id, user_id, platform, token, endpoint) "
                "VALUES (:id, :u, :p, :t, :e) ON CONFLICT (token) DO UPDATE SET user_id = EXCLUDED.user_id, "
                "platform = EXCLUDED.platform, endpoint = EXCLUDED.endpoint "
                "RETURNING id, user_id, platform, endpoint, created_at"
            ),
            {"id": device_id, "u": user_id, "p": platform, "t": token, "e": endpoint},
        )
    ).one()
    return Device(row.id, row.user_id, row.platform, row.endpoint, row.created_at)


async def delete_device(db: AsyncConnection, *, device_id: int, user_id: int) -> str | None:
    """The deleted device's endpoint; None when the caller has no such device."""
    row = (
        await db.execute(
            text(f"DELETE FROM {SCHEMA}.push_devices WHERE id = :id AND user_id = :u RETURNING endpoint"),
            {"id": device_id, "u": user_id},
        )
    ).first()
    return str(row.endpoint) if row else None


async def forget_endpoint(db: AsyncConnection, *, endpoint: str) -> None:
    await db.execute(text(f"DELETE FROM {SCHEMA}.push_devices WHERE endpoint = :e"), {"e": endpoint})


async def devices_of(db: AsyncConnection, *, user_ids: Sequence[int]) -> list[Device]:
    if not user_ids:
        return []
    rows = await db.execute(
        text(f"SELECT id, user_id, platform, endpoint, created_at FROM {SCHEMA}.push_devices WHERE user_id = ANY(:u)"),
        {"u": list(user_ids)},
    )
    return [Device(r.id, r.user_id, r.platform, r.endpoint, r.created_at) for r in rows]
