"""SQL for reports, moderation actions, suspensions, moderators and the audit log
(schema koo_user). Functions take an open connection."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

SCHEMA = "koo_user"

OPEN, ACTIONED, DISMISSED = 1, 2, 3
NOT_APPEALABLE, NOT_APPEALED, APPEAL_PENDING, APPEAL_UPHELD, APPEAL_REVERSED = 0, 1, 2, 3, 4
APPEAL_SEVERITY = 3


@dataclass(frozen=True, slots=True)
class ReportRow:
    id: int
    reporter_id: int
    post_id: int
    user_id: int
    reason: int
    note: str
    status: int
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ActionRow:
    id: int
    kind: int
    post_id: int
    user_id: int
    policy: int
    reason: str
    moderator_id: int
    created_at: datetime
    suspended_until: datetime | None
    appeal_status: int
    appeal_note: str


@dataclass(frozen=True, slots=True)
class QueueRow:
    kind: int  # 1 reports, 2 appeal
    post_id: int
    user_id: int
    severity: int
    report_count: int
    reasons: list[int]
    waiting_since: datetime
    action_id: int
    notes: list[str]


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    created_at: datetime
    actor_id: int
    actor: str
    action: str
    target: str
    reason: str


def _report(r: Row[Any]) -> ReportRow:
    return ReportRow(r.id, r.reporter_id, r.post_id, r.user_id, r.reason, r.note, r.status, r.created_at, r.resolved_at)


def _action(r: Row[Any]) -> ActionRow:
    return ActionRow(
        r.id,
        r.kind,
        r.post_id,
        r.user_id,
        r.policy,
        r.reason,
        r.moderator_id,
        r.created_at,
        r.suspended_until,
        r.appeal_status,
        r.appeal_note,
    )


_REPORT_COLUMNS = "id, reporter_id, post_id, user_id, reason, note, status, created_at, resolved_at"
_ACTION_COLUMNS = (
    "id, kind, post_id, user_id, policy, reason, moderator_id, created_at, suspended_until, appeal_status, appeal_note"
)


# Moderators ---------------------------------------------------------------------------


async def is_moderator(db: AsyncConnection, *, user_id: int) -> bool:
    row = (await db.execute(text(f"SELECT 1 FROM {SCHEMA}.moderators WHERE user_id = :u"), {"u": user_id})).first()
    return row is not None


async def grant_moderator(db: AsyncConnection, *, user_id: int, granted_by: str) -> bool:
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.moderators (user_id, granted_by) VALUES (:u, :g) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"u": user_id, "g": granted_by},
        )
    ).first()
    return row is not None


async def revoke_moderator(db: AsyncConnection, *, user_id: int) -> bool:
    row = (
        await db.execute(text(f"DELETE FROM {SCHEMA}.moderators WHERE user_id = :u RETURNING 1"), {"u": user_id})
    ).first()
    return row is not None


# Reports ------------------------------------------------------------------------------


async def insert_report(
    db: AsyncConnection,
    *,
    report_id: int,
    reporter_id: int,
    post_id: int,
    user_id: int,
    reason: int,
    severity: int,
    note: str,
) -> ReportRow | None:
    """The new report, or None when this reporter already reported this target."""
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.reports (id, reporter_id, post_id, user_id, reason, severity, note) "
                "VALUES (:id, :rep, :p, :u, :r, :s, :n) ON CONFLICT DO NOTHING "
                f"RETURNING {_REPORT_COLUMNS}"
            ),
            {"id": report_id, "rep": reporter_id, "p": post_id, "u": user_id, "r": reason, "s": severity, "n": note},
        )
    ).first()
    return _report(row) if row else None


async def reports_of(db: AsyncConnection, *, reporter_id: int, before_id: int, limit: int) -> list[ReportRow]:
    rows = await db.execute(
        text(
            f"SELECT {_REPORT_COLUMNS} FROM {SCHEMA}.reports WHERE reporter_id = :r AND id < :b "
            "ORDER BY id DESC LIMIT :n"
        ),
        {"r": reporter_id, "b": before_id or 2**63 - 1, "n": limit},
    )
    return [_report(r) for r in rows]


async def resolve_reports(
    db: AsyncConnection, *, post_id: int, user_id: int, status: int, action_id: int
) -> datetime | None:
    """Close the open reports on a target; returns when the oldest of them was made."""
    row = (
        await db.execute(
            text(
                f"WITH closed AS (UPDATE {SCHEMA}.reports SET status = :s, resolved_at = now(), action_id = :a "
                "WHERE status = 1 AND post_id = :p AND (:p <> 0 OR user_id = :u) RETURNING created_at) "
                "SELECT min(created_at) AS oldest, count(*) AS n FROM closed"
            ),
            {"s": status, "a": action_id, "p": post_id, "u": user_id},
        )
    ).one()
    return row.oldest if row.n else None


_QUEUE = f"""
SELECT * FROM (
    SELECT 1 AS kind, post_id, min(user_id) AS user_id, max(severity) AS severity, count(*) AS report_count,
           ARRAY(SELECT DISTINCT unnest(array_agg(reason))) AS reasons, min(created_at) AS waiting_since,
           0::BIGINT AS action_id,
           (array_remove(array_agg(note ORDER BY created_at), ''))[1:5] AS notes
    FROM {SCHEMA}.reports WHERE status = 1 GROUP BY post_id, CASE WHEN post_id = 0 THEN user_id ELSE 0 END
    UNION ALL
    SELECT 2, post_id, user_id, {APPEAL_SEVERITY}, 0, '{{}}'::SMALLINT[], appealed_at, id, ARRAY[appeal_note]
    FROM {SCHEMA}.moderation_actions WHERE appeal_status = {APPEAL_PENDING}
) q
WHERE (-q.severity, q.waiting_since, q.kind, q.post_id, q.user_id, q.action_id)
      > (CAST(:s AS INT), CAST(:t AS TIMESTAMPTZ), CAST(:k AS INT), CAST(:p AS BIGINT), CAST(:u AS BIGINT),
         CAST(:a AS BIGINT))
ORDER BY -q.severity, q.waiting_since, q.kind, q.post_id, q.user_id, q.action_id
LIMIT :n
"""


async def queue(
    db: AsyncConnection, *, after: tuple[int, str, int, int, int, int] | None, limit: int
) -> list[QueueRow]:
    s, t, k, p, u, a = after or (-(2**31), "-infinity", 0, 0, 0, 0)
    rows = await db.execute(text(_QUEUE), {"s": s, "t": t, "k": k, "p": p, "u": u, "a": a, "n": limit})
    return [
        QueueRow(
            r.kind,
            r.post_id,
            r.user_id,
            r.severity,
            r.report_count,
            list(r.reasons),
            r.waiting_since,
            r.action_id,
            [n for n in r.notes or [] if n],
        )
        for r in rows
    ]


# Actions ------------------------------------------------------------------------------


async def insert_action(
    db: AsyncConnection,
    *,
    action_id: int,
    kind: int,
    post_id: int,
    user_id: int,
    policy: int,
    reason: str,
    moderator_id: int,
    first_report_at: datetime | None,
    suspended_until: datetime | None,
    appeal_status: int,
) -> ActionRow:
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.moderation_actions (id, kind, post_id, user_id, policy, reason, moderator_id, "
                "first_report_at, suspended_until, appeal_status) VALUES (:id, :k, :p, :u, :pol, :r, :m, :f, :until, :ap) "
                f"RETURNING {_ACTION_COLUMNS}"
            ),
            {
                "id": action_id,
                "k": kind,
                "p": post_id,
                "u": user_id,
                "pol": policy,
                "r": reason,
                "m": moderator_id,
                "f": first_report_at,
                "until": suspended_until,
                "ap": appeal_status,
            },
        )
    ).one()
    return _action(row)


async def set_first_report_at(db: AsyncConnection, *, action_id: int, when: datetime | None) -> None:
    if when is not None:
        await db.execute(
            text(f"UPDATE {SCHEMA}.moderation_actions SET first_report_at = :w WHERE id = :id"),
            {"w": when, "id": action_id},
        )


async def action_for_update(db: AsyncConnection, *, action_id: int) -> ActionRow | None:
    row = (
        await db.execute(
            text(f"SELECT {_ACTION_COLUMNS} FROM {SCHEMA}.moderation_actions WHERE id = :id FOR UPDATE"),
            {"id": action_id},
        )
    ).first()
    return _action(row) if row else None


async def actions_by_id(db: AsyncConnection, *, action_ids: list[int]) -> dict[int, ActionRow]:
    if not action_ids:
        return {}
    rows = await db.execute(
        text(f"SELECT {_ACTION_COLUMNS} FROM {SCHEMA}.moderation_actions WHERE id = ANY(:ids)"), {"ids": action_ids}
    )
    return {r.id: _action(r) for r in rows}


async def actions_against(db: AsyncConnection, *, user_id: int, before_id: int, limit: int) -> list[ActionRow]:
    rows = await db.execute(
        text(
            f"SELECT {_ACTION_COLUMNS} FROM {SCHEMA}.moderation_actions WHERE user_id = :u AND kind <> 5 "
            "AND id < :b ORDER BY id DESC LIMIT :n"
        ),
        {"u": user_id, "b": before_id or 2**63 - 1, "n": limit},
    )
    return [_action(r) for r in rows]


async def set_appeal(db: AsyncConnection, *, action_id: int, status: int, note: str | None = None) -> ActionRow:
    if note is not None:
        sql = "appeal_status = :s, appeal_note = :n, appealed_at = now()"
    else:
        sql = "appeal_status = :s, appeal_decided_at = now()"
    row = (
        await db.execute(
            text(f"UPDATE {SCHEMA}.moderation_actions SET {sql} WHERE id = :id RETURNING {_ACTION_COLUMNS}"),
            {"s": status, "n": note, "id": action_id},
        )
    ).one()
    return _action(row)


# Suspensions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuspensionRow:
    user_id: int
    until: datetime | None
    reason: str
    action_id: int


async def suspension(db: AsyncConnection, *, user_id: int) -> SuspensionRow | None:
    """The account's suspension if it holds now."""
    row = (
        await db.execute(
            text(
                f"SELECT user_id, until, reason, action_id FROM {SCHEMA}.suspensions "
                "WHERE user_id = :u AND (until IS NULL OR until > now())"
            ),
            {"u": user_id},
        )
    ).first()
    return SuspensionRow(row.user_id, row.until, row.reason, row.action_id) if row else None


async def upsert_suspension(
    db: AsyncConnection, *, user_id: int, until: datetime | None, reason: str, action_id: int
) -> None:
    await db.execute(
        text(
            f"INSERT INTO {SCHEMA}.suspensions (user_id, until, reason, action_id) VALUES (:u, :t, :r, :a) "
            "ON CONFLICT (user_id) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason, "
            "action_id = EXCLUDED.action_id"
        ),
        {"u": user_id, "t": until, "r": reason, "a": action_id},
    )


async def delete_suspension(db: AsyncConnection, *, user_id: int) -> bool:
    row = (
        await db.execute(text(f"DELETE FROM {SCHEMA}.suspensions WHERE user_id = :u RETURNING 1"), {"u": user_id})
    ).first()
    return row is not None


async def lapsed_suspensions(db: AsyncConnection, *, limit: int = 100) -> list[int]:
    rows = await db.execute(
        text(f"SELECT user_id FROM {SCHEMA}.suspensions WHERE until IS NOT NULL AND until <= now() LIMIT :n"),
        {"n": limit},
    )
    return [r.user_id for r in rows]


async def revoke_all_sessions(db: AsyncConnection, *, user_id: int) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.refresh_tokens SET revoked_at = now() WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": user_id},
    )


# Audit --------------------------------------------------------------------------------


async def audit(
    db: AsyncConnection,
    *,
    actor_id: int,
    actor: str,
    action: str,
    target: str,
    reason: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        text(
            f"INSERT INTO {SCHEMA}.audit_log (actor_id, actor, action, target, reason, detail) "
            "VALUES (:aid, :a, :act, :t, :r, CAST(:d AS jsonb))"
        ),
        {
            "aid": actor_id,
            "a": actor,
            "act": action,
            "t": target,
            "r": reason,
            "d": json.dumps(detail or {}, ensure_ascii=False),
        },
    )


async def audit_entries(db: AsyncConnection, *, before_id: int, limit: int) -> list[AuditRow]:
    rows = await db.execute(
        text(
            f"SELECT id, created_at, actor_id, actor, action, target, reason FROM {SCHEMA}.audit_log "
            "WHERE id < :b ORDER BY id DESC LIMIT :n"
        ),
        {"b": before_id or 2**63 - 1, "n": limit},
    )
    return [AuditRow(r.id, r.created_at, r.actor_id, r.actor, r.action, r.target, r.reason) for r in rows]
