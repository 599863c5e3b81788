"""SQL for the user service (schema koo_user). Functions take an open connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.kit.pgcopy import copy_line
from services.user.handles import skeleton

SCHEMA = "koo_user"
_USER_COLUMNS = (
    "id, handle, display_name, bio, languages, verified, follower_count, following_count, post_count, created_at"
)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    handle: str
    display_name: str
    bio: str
    languages: list[str]
    verified: bool
    follower_count: int
    following_count: int
    post_count: int
    created_at: datetime


def _user(row: Row[tuple[object, ...]]) -> UserRow:
    m = row._mapping
    return UserRow(
        id=m["id"],
        handle=m["handle"],
        display_name=m["display_name"],
        bio=m["bio"],
        languages=list(m["languages"]),
        verified=m["verified"],
        follower_count=m["follower_count"],
        following_count=m["following_count"],
        post_count=m["post_count"],
        created_at=m["created_at"],
    )


async def insert_user(
    db: AsyncConnection,
    *,
    user_id: int,
    handle: str,
    handle_skeleton: str,
    display_name: str,
    languages: list[str],
    password_hash: str,
) -> UserRow | None:
    """The new user, or None when the handle (any case) or a lookalike of it is taken."""
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.users (id, handle, handle_lower, handle_skeleton, display_name, languages, "
                "password_hash) VALUES (:id, :h, lower(:h), :skel, :dn, :langs, :ph) ON CONFLICT DO NOTHING "
                f"RETURNING {_USER_COLUMNS}"
            ),
            {
                "id": user_id,
                "h": handle,
                "skel": handle_skeleton,
                "dn": display_name,
                "langs": languages,
                "ph": password_hash,
            },
        )
    ).first()
    return _user(row) if row else None


async def credentials_by_handle(db: AsyncConnection, *, handle: str) -> tuple[UserRow, str] | None:
    row = (
        await db.execute(
            text(f"SELECT {_USER_COLUMNS}, password_hash FROM {SCHEMA}.users WHERE handle_lower = lower(:h)"),
            {"h": handle},
        )
    ).first()
    return (_user(row), row.password_hash) if row else None


async def update_password_hash(db: AsyncConnection, *, user_id: int, password_hash: str) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.users SET password_hash = :ph WHERE id = :id"),
        {"ph": password_hash, "id": user_id},
    )


async def users_by_ids(db: AsyncConnection, *, user_ids: Sequence[int]) -> dict[int, UserRow]:
    if not user_ids:
        return {}
    rows = await db.execute(
        text(f"SELECT {_USER_COLUMNS} FROM {SCHEMA}.users WHERE id = ANY(:ids)"), {"ids": list(user_ids)}
    )
    return {r.id: _user(r) for r in rows}


async def user_by_handle(db: AsyncConnection, *, handle: str) -> UserRow | None:
    row = (
        await db.execute(
            text(f"SELECT {_USER_COLUMNS} FROM {SCHEMA}.users WHERE handle_lower = lower(:h)"), {"h": handle}
        )
    ).first()
    return _user(row) if row else None


async def users_by_handles(db: AsyncConnection, *, handles: Sequence[str]) -> list[UserRow]:
    if not handles:
        return []
    rows = await db.execute(
        text(f"SELECT {_USER_COLUMNS} FROM {SCHEMA}.users WHERE handle_lower = ANY(:hs)"),
        {"hs": [h.lower() for h in handles]},
    )
    return [_user(r) for r in rows]


async def update_profile(db: AsyncConnection, *, user_id: int, changes: dict[str, object]) -> UserRow | None:
    allowed = {"display_name", "bio", "languages"}
    sets = ", ".join(f"{col} = :{col}" for col in changes if col in allowed)
    row = (
        await db.execute(
            text(f"UPDATE {SCHEMA}.users SET {sets}, updated_at = now() WHERE id = :id RETURNING {_USER_COLUMNS}"),
            {**changes, "id": user_id},
        )
    ).first()
    return _user(row) if row else None


async def following_set(db: AsyncConnection, *, follower_id: int, followee_ids: Sequence[int]) -> set[int]:
    """Which of `followee_ids` the follower follows."""
    if not followee_ids:
        return set()
    rows = await db.execute(
        text(f"SELECT followee_id FROM {SCHEMA}.follows WHERE follower_id = :f AND followee_id = ANY(:ids)"),
        {"f": follower_id, "ids": list(followee_ids)},
    )
    return {r.followee_id for r in rows}


async def is_blocked_either_way(db: AsyncConnection, *, a: int, b: int) -> bool:
    row = (
        await db.execute(
            text(
                f"SELECT 1 FROM {SCHEMA}.blocks WHERE (blocker_id = :a AND blocked_id = :b) "
                "OR (blocker_id = :b AND blocked_id = :a) LIMIT 1"
            ),
            {"a": a, "b": b},
        )
    ).first()
    return row is not None


async def upsert_follow(
    db: AsyncConnection, *, follow_id: int, follower_id: int, followee_id: int, languages: list[str]
) -> bool:
    """Follow (or change the languages of an existing follow); True when newly created."""
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.follows (follower_id, followee_id, id, languages) "
                "VALUES (:a, :b, :id, :langs) ON CONFLICT (follower_id, followee_id) "
                "DO UPDATE SET languages = EXCLUDED.languages RETURNING (xmax = 0) AS inserted"
            ),
            {"a": follower_id, "b": followee_id, "id": follow_id, "langs": languages},
        )
    ).one()
    if row.inserted:
        await _adjust_follow_counts(db, follower_id=follower_id, followee_id=followee_id, delta=1)
    return bool(row.inserted)


async def delete_follow(db: AsyncConnection, *, follower_id: int, followee_id: int) -> bool:
    row = (
        await db.execute(
            text(f"DELETE FROM {SCHEMA}.follows WHERE follower_id = :a AND followee_id = :b RETURNING 1"),
            {"a": follower_id, "b": followee_id},
        )
    ).first()
    if row is not None:
        await _adjust_follow_counts(db, follower_id=follower_id, followee_id=followee_id, delta=-1)
    return row is not None


async def _adjust_follow_counts(db: AsyncConnection, *, follower_id: int, followee_id: int, delta: int) -> None:
    # Both rows updated in id order so two opposite follows cannot deadlock.
    await db.execute(
        text(
            f"UPDATE {SCHEMA}.users SET "
            "following_count = following_count + CASE WHEN id = :a THEN :d ELSE 0 END, "
            "follower_count = follower_count + CASE WHEN id = :b THEN :d ELSE 0 END "
            "WHERE id IN (:a, :b)"
        ),
        {"a": follower_id, "b": followee_id, "d": delta},
    )


async def lock_users(db: AsyncConnection, *, user_ids: Sequence[int]) -> None:
    """Row locks in id order: serializes follow/block between the same two users."""
    await db.execute(
        text(f"SELECT id FROM {SCHEMA}.users WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": sorted(set(user_ids))},
    )


async def insert_block(db: AsyncConnection, *, blocker_id: int, blocked_id: int) -> bool:
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.blocks (blocker_id, blocked_id) VALUES (:a, :b) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"a": blocker_id, "b": blocked_id},
        )
    ).first()
    return row is not None


async def delete_block(db: AsyncConnection, *, blocker_id: int, blocked_id: int) -> bool:
    row = (
        await db.execute(
            text(f"DELETE FROM {SCHEMA}.blocks WHERE blocker_id = :a AND blocked_id = :b RETURNING 1"),
            {"a": blocker_id, "b": blocked_id},
        )
    ).first()
    return row is not None


async def insert_mute(db: AsyncConnection, *, muter_id: int, muted_id: int) -> bool:
    row = (
        await db.execute(
            text(f"INSERT INTO {SCHEMA}.mutes (muter_id, muted_id) VALUES (:a, :b) ON CONFLICT DO NOTHING RETURNING 1"),
            {"a": muter_id, "b": muted_id},
        )
    ).first()
    return row is not None


async def delete_mute(db: AsyncConnection, *, muter_id: int, muted_id: int) -> bool:
    row = (
        await db.execute(
            text(f"DELETE FROM {SCHEMA}.mutes WHERE muter_id = :a AND muted_id = :b RETURNING 1"),
            {"a": muter_id, "b": muted_id},
        )
    ).first()
    return row is not None


async def list_follow_page(
    db: AsyncConnection, *, user_id: int, followers: bool, before_follow_id: int | None, limit: int
) -> list[tuple[int, UserRow]]:
    """(follow id, user) pairs, newest follow first, strictly older than the cursor."""
    key, other = ("followee_id", "follower_id") if followers else ("follower_id", "followee_id")
    cursor = "AND f.id < :before" if before_follow_id is not None else ""
    cols = ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))
    rows = await db.execute(
        text(
            f"SELECT f.id AS follow_id, {cols} FROM {SCHEMA}.follows f "
            f"JOIN {SCHEMA}.users u ON u.id = f.{other} "
            f"WHERE f.{key} = :uid {cursor} ORDER BY f.id DESC LIMIT :n"
        ),
        {"uid": user_id, "before": before_follow_id, "n": limit},
    )
    return [(r.follow_id, _user(r)) for r in rows]


async def follower_refs(
    db: AsyncConnection, *, user_id: int, after_follower_id: int, limit: int
) -> list[tuple[int, list[str]]]:
    rows = await db.execute(
        text(
            f"SELECT follower_id, languages FROM {SCHEMA}.follows WHERE followee_id = :uid "
            "AND follower_id > :after ORDER BY follower_id LIMIT :n"
        ),
        {"uid": user_id, "after": after_follower_id, "n": limit},
    )
    return [(r.follower_id, list(r.languages)) for r in rows]


async def blocked_either_way(db: AsyncConnection, *, user_id: int) -> list[int]:
    """Users `user_id` blocked or is blocked by."""
    blocked = await db.execute(
        text(
            f"SELECT blocked_id AS other FROM {SCHEMA}.blocks WHERE blocker_id = :uid "
            f"UNION SELECT blocker_id FROM {SCHEMA}.blocks WHERE blocked_id = :uid"
        ),
        {"uid": user_id},
    )
    return [r.other for r in blocked]


async def social_graph(
    db: AsyncConnection, *, user_id: int
) -> tuple[list[tuple[int, list[str], int]], list[int], list[int]]:
    """(following with languages and follower counts, blocked either way, muted)."""
    following = await db.execute(
        text(
            f"SELECT f.followee_id, f.languages, u.follower_count FROM {SCHEMA}.follows f "
            f"JOIN {SCHEMA}.users u ON u.id = f.followee_id WHERE f.follower_id = :uid"
        ),
        {"uid": user_id},
    )
    blocked = await blocked_either_way(db, user_id=user_id)
    muted = await db.execute(text(f"SELECT muted_id FROM {SCHEMA}.mutes WHERE muter_id = :uid"), {"uid": user_id})
    return (
        [(r.followee_id, list(r.languages), r.follower_count) for r in following],
        blocked,
        [r.muted_id for r in muted],
    )


async def relationship(db: AsyncConnection, *, a: int, b: int) -> dict[str, bool]:
    row = (
        await db.execute(
            text(
                "SELECT "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.follows WHERE follower_id = :a AND followee_id = :b) AS following, "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.follows WHERE follower_id = :b AND followee_id = :a) AS followed_by, "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.blocks WHERE blocker_id = :a AND blocked_id = :b) AS blocking, "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.blocks WHERE blocker_id = :b AND blocked_id = :a) AS blocked_by"
            ),
            {"a": a, "b": b},
        )
    ).one()
    return dict(row._mapping)


async def viewer_flags(db: AsyncConnection, *, viewer_id: int, user_id: int) -> tuple[bool, bool, bool]:
    """(viewer follows, blocks, mutes user): what one profile page shows its reader."""
    row = (
        await db.execute(
            text(
                "SELECT "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.follows WHERE follower_id = :a AND followee_id = :b) AS following, "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.blocks WHERE blocker_id = :a AND blocked_id = :b) AS blocking, "
                f"EXISTS (SELECT 1 FROM {SCHEMA}.mutes WHERE muter_id = :a AND muted_id = :b) AS muting"
            ),
            {"a": viewer_id, "b": user_id},
        )
    ).one()
    return bool(row.following), bool(row.blocking), bool(row.muting)


async def adjust_post_count(db: AsyncConnection, *, user_id: int, delta: int) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.users SET post_count = GREATEST(post_count + :d, 0) WHERE id = :id"),
        {"d": delta, "id": user_id},
    )


# Refresh tokens ---------------------------------------------------------------------


async def insert_refresh_token(
    db: AsyncConnection, *, token_hash: bytes, family_id: str, user_id: int, expires_at: datetime
) -> None:
    await db.execute(
        text(
            f"INSERT INTO {SCHEMA}.refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES (:h, :f, :u, :e)"
        ),
        {"h": token_hash, "f": family_id, "u": user_id, "e": expires_at},
    )


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    family_id: str
    user_id: int
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


async def refresh_token_for_update(db: AsyncConnection, *, token_hash: bytes) -> RefreshTokenRow | None:
    row = (
        await db.execute(
            text(
                f"SELECT family_id, user_id, expires_at, rotated_at, revoked_at FROM {SCHEMA}.refresh_tokens "
                "WHERE token_hash = :h FOR UPDATE"
            ),
            {"h": token_hash},
        )
    ).first()
    if row is None:
        return None
    return RefreshTokenRow(row.family_id, row.user_id, row.expires_at, row.rotated_at, row.revoked_at)


async def mark_rotated(db: AsyncConnection, *, token_hash: bytes) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.refresh_tokens SET rotated_at = now() WHERE token_hash = :h"), {"h": token_hash}
    )


async def revoke_family(db: AsyncConnection, *, family_id: str) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.refresh_tokens SET revoked_at = now() WHERE family_id = :f AND revoked_at IS NULL"),
        {"f": family_id},
    )


async def claim_event(db: AsyncConnection, *, event_id: str) -> bool:
    """True the first time an event id is seen (inside the transaction applying it)."""
    row = (
        await db.execute(
            text(f"INSERT INTO {SCHEMA}.processed_events (event_id) VALUES (:e) ON CONFLICT DO NOTHING RETURNING 1"),
            {"e": event_id},
        )
    ).first()
    return row is not None


# Bulk loads (`koo seed`): the account and follow layouts in COPY form, beside the INSERTs
# above that write the same rows one at a time, so the seeder keeps no copy of them.
USERS_COPY = (
    f"COPY {SCHEMA}.users (id, handle, handle_lower, handle_skeleton, display_name, languages, verified, "
    "password_hash, follower_count, following_count, created_at, updated_at) FROM STDIN"
)
FOLLOWS_COPY = f"COPY {SCHEMA}.follows (follower_id, followee_id, id, created_at) FROM STDIN"


def user_copy_line(
    *,
    user_id: int,
    handle: str,
    display_name: str,
    languages: Sequence[str],
    verified: bool,
    password_hash: str,
    follower_count: int,
    following_count: int,
    created_at: str,
) -> str:
    """One account for `USERS_COPY`; the derived columns as insert_user derives them (handles are ASCII)."""
    return copy_line(
        [
            user_id,
            handle,
            handle.lower(),
            skeleton(handle),
            display_name,
            languages,
            verified,
            password_hash,
            follower_count,
            following_count,
            created_at,
            created_at,
        ]
    )


def follow_copy_line(*, follower_id: int, followee_id: int, follow_id: int, created_at: str) -> str:
    """One follow for `FOLLOWS_COPY`."""
    return copy_line([follower_id, followee_id, follow_id, created_at])
