"""SQL for the post service (schema koo_post). Functions take an open connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.kit.pgcopy import copy_line

SCHEMA = "koo_post"
_COLUMNS = (
    "p.id, p.author_id, p.text, p.language, p.hashtags, p.mentions, p.mention_ids, p.media_ids, "
    "p.reply_to_id, p.repost_of_id, p.plain_repost, p.like_count, p.reply_count, p.repost_count, "
    "p.created_at, p.deleted_at"
)
# liked_by_me in the same query as the posts (NULL viewer: false).
_LIKED = (
    f"(CAST(:viewer AS BIGINT) IS NOT NULL AND EXISTS (SELECT 1 FROM {SCHEMA}.likes l "
    "WHERE l.post_id = p.id AND l.user_id = CAST(:viewer AS BIGINT))) AS liked_by_me"
)
# The original's author, for the block rule (primary-key lookup; NULL without an original).
_ORIGINAL_AUTHOR = f"(SELECT q.author_id FROM {SCHEMA}.posts q WHERE q.id = p.repost_of_id) AS repost_of_author_id"
Counter = Literal["like_count", "reply_count", "repost_count"]


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    author_id: int
    text: str
    language: str
    hashtags: list[str]
    mentions: list[str]
    mention_ids: list[int]
    media_ids: list[int]
    reply_to_id: int
    repost_of_id: int
    plain_repost: bool
    like_count: int
    reply_count: int
    repost_count: int
    created_at: datetime
    deleted: bool
    liked_by_me: bool = False
    # Author of the re-koo'd or quoted post (0 when none, or not asked for): blocks hold for it.
    repost_of_author_id: int = 0


@dataclass(frozen=True, slots=True)
class PostRefRow:
    """A post as a timeline needs it."""

    id: int
    author_id: int
    language: str
    repost_of_id: int
    reply_to_id: int


def _post(row: Row[tuple[object, ...]]) -> PostRow:
    m = row._mapping
    return PostRow(
        id=m["id"],
        author_id=m["author_id"],
        text=m["text"],
        language=m["language"],
        hashtags=list(m["hashtags"]),
        mentions=list(m["mentions"]),
        mention_ids=list(m["mention_ids"]),
        media_ids=list(m["media_ids"]),
        reply_to_id=m["reply_to_id"] or 0,
        repost_of_id=m["repost_of_id"] or 0,
        plain_repost=m["plain_repost"],
        like_count=m["like_count"],
        reply_count=m["reply_count"],
        repost_count=m["repost_count"],
        created_at=m["created_at"],
        deleted=m["deleted_at"] is not None,
        liked_by_me=bool(m.get("liked_by_me", False)),
        repost_of_author_id=m.get("repost_of_author_id") or 0,
    )


@dataclass(frozen=True, slots=True)
class NewPost:
    id: int
    author_id: int
    text: str
    language: str
    hashtags: list[str]
    mentions: list[str]
    mention_ids: list[int]
    media_ids: list[int]
    reply_to_id: int
    repost_of_id: int
    plain_repost: bool
    request_id: str


async def insert_post(db: AsyncConnection, post: NewPost) -> PostRow | None:
    """The new post, or None when the request id or the plain re-koo already exists."""
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.posts AS p (id, author_id, text, language, hashtags, mentions, mention_ids, "
                "media_ids, reply_to_id, repost_of_id, plain_repost, request_id) VALUES (:id, :author, :text, :lang, "
                ":tags, :mentions, :mention_ids, :media_ids, :reply, :repost, :plain, :rid) "
                f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
            ),
            {
                "id": post.id,
                "author": post.author_id,
                "text": post.text,
                "lang": post.language,
                "tags": post.hashtags,
                "mentions": post.mentions,
                "mention_ids": post.mention_ids,
                "media_ids": post.media_ids,
                "reply": post.reply_to_id or None,
                "repost": post.repost_of_id or None,
                "plain": post.plain_repost,
                "rid": post.request_id or None,
            },
        )
    ).first()
    return _post(row) if row else None


async def post_by_request(db: AsyncConnection, *, author_id: int, request_id: str) -> PostRow | None:
    """The post an earlier try with this request id created (deleted or not)."""
    row = (
        await db.execute(
            text(f"SELECT {_COLUMNS} FROM {SCHEMA}.posts p WHERE p.author_id = :a AND p.request_id = :r"),
            {"a": author_id, "r": request_id},
        )
    ).first()
    return _post(row) if row else None


async def live_plain_repost(db: AsyncConnection, *, author_id: int, original_id: int) -> PostRow | None:
    row = (
        await db.execute(
            text(
                f"SELECT {_COLUMNS} FROM {SCHEMA}.posts p WHERE p.author_id = :a AND p.repost_of_id = :o "
                "AND p.plain_repost AND p.deleted_at IS NULL"
            ),
            {"a": author_id, "o": original_id},
        )
    ).first()
    return _post(row) if row else None


async def posts_by_ids(
    db: AsyncConnection, *, post_ids: Sequence[int], viewer_id: int | None, live_only: bool = True
) -> dict[int, PostRow]:
    """Posts by id in one query. Live only also hides plain re-koos of deleted posts."""
    if not post_ids:
        return {}
    where = "p.id = ANY(:ids)"
    join = ""
    if live_only:
        join = f"LEFT JOIN {SCHEMA}.posts o ON p.plain_repost AND o.id = p.repost_of_id"
        where += " AND p.deleted_at IS NULL AND NOT (p.plain_repost AND (o.id IS NULL OR o.deleted_at IS NOT NULL))"
    rows = await db.execute(
        text(f"SELECT {_COLUMNS}, {_LIKED}, {_ORIGINAL_AUTHOR} FROM {SCHEMA}.posts p {join} WHERE {where}"),
        {"ids": list(post_ids), "viewer": viewer_id},
    )
    return {r.id: _post(r) for r in rows}


async def lock_post(db: AsyncConnection, *, post_id: int) -> PostRow | None:
    row = (
        await db.execute(text(f"SELECT {_COLUMNS} FROM {SCHEMA}.posts p WHERE p.id = :id FOR UPDATE"), {"id": post_id})
    ).first()
    return _post(row) if row else None


async def adjust_counter(db: AsyncConnection, *, post_id: int, counter: Counter, delta: int, live: bool) -> bool:
    """Add `delta` to one counter; with `live`, only on a post not deleted. True if a row changed."""
    guard = " AND deleted_at IS NULL" if live else ""
    row = (
        await db.execute(
            text(
                f"UPDATE {SCHEMA}.posts SET {counter} = GREATEST({counter} + :d, 0) WHERE id = :id{guard} RETURNING 1"
            ),
            {"d": delta, "id": post_id},
        )
    ).first()
    return row is not None


async def mark_deleted(db: AsyncConnection, *, post_id: int) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.posts SET deleted_at = now() WHERE id = :id AND deleted_at IS NULL"), {"id": post_id}
    )


async def insert_like(db: AsyncConnection, *, post_id: int, user_id: int) -> bool:
    """True when the like is new (the post must be live)."""
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.likes (post_id, user_id) SELECT :p, :u WHERE EXISTS "
                f"(SELECT 1 FROM {SCHEMA}.posts WHERE id = :p AND deleted_at IS NULL) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"p": post_id, "u": user_id},
        )
    ).first()
    return row is not None


async def delete_like(db: AsyncConnection, *, post_id: int, user_id: int) -> bool:
    row = (
        await db.execute(
            text(f"DELETE FROM {SCHEMA}.likes WHERE post_id = :p AND user_id = :u RETURNING 1"),
            {"p": post_id, "u": user_id},
        )
    ).first()
    return row is not None


async def author_of(db: AsyncConnection, *, post_id: int) -> int:
    row = (await db.execute(text(f"SELECT author_id FROM {SCHEMA}.posts WHERE id = :id"), {"id": post_id})).first()
    return int(row.author_id) if row else 0


async def is_live(db: AsyncConnection, *, post_id: int) -> bool:
    row = (
        await db.execute(text(f"SELECT 1 FROM {SCHEMA}.posts WHERE id = :id AND deleted_at IS NULL"), {"id": post_id})
    ).first()
    return row is not None


async def replies_page(
    db: AsyncConnection, *, parent_id: int, after_id: int, limit: int, viewer_id: int | None
) -> list[PostRow]:
    """Live replies to a post, oldest first, strictly after the cursor."""
    rows = await db.execute(
        text(
            f"SELECT {_COLUMNS}, {_LIKED}, {_ORIGINAL_AUTHOR} FROM {SCHEMA}.posts p WHERE p.reply_to_id = :parent "
            "AND p.deleted_at IS NULL AND p.id > :after ORDER BY p.id LIMIT :n"
        ),
        {"parent": parent_id, "after": after_id, "n": limit, "viewer": viewer_id},
    )
    return [_post(r) for r in rows]


async def author_post_refs(
    db: AsyncConnection, *, author_ids: Sequence[int], before_id: int, limit: int, exclude_replies: bool
) -> list[PostRefRow]:
    """The newest live posts of some authors, newest first, below `before_id` when it is set."""
    if not author_ids:
        return []
    conditions = ["p.author_id = a.id", "p.deleted_at IS NULL"]
    if exclude_replies:
        conditions.append("p.reply_to_id IS NULL")
    if before_id > 0:
        conditions.append("p.id < :before")
    # Per author an index scan of at most `limit` rows (posts_by_author[_top]), then the
    # newest overall: bounded by authors x limit however many posts they ever wrote.
    rows = await db.execute(
        text(
            "SELECT r.id, r.author_id, r.language, r.repost_of_id, r.reply_to_id "
            "FROM unnest(CAST(:authors AS BIGINT[])) AS a(id) CROSS JOIN LATERAL ("
            f"SELECT p.id, p.author_id, p.language, p.repost_of_id, p.reply_to_id FROM {SCHEMA}.posts p "
            f"WHERE {' AND '.join(conditions)} ORDER BY p.id DESC LIMIT :n) r "
            "ORDER BY r.id DESC LIMIT :n"
        ),
        {"authors": list(author_ids), "before": before_id, "n": limit},
    )
    return [PostRefRow(r.id, r.author_id, r.language, r.repost_of_id or 0, r.reply_to_id or 0) for r in rows]


async def liked_post_ids(db: AsyncConnection, *, user_id: int, limit: int) -> list[int]:
    """Posts the user liked, newest post first (index likes_by_user)."""
    rows = await db.execute(
        text(f"SELECT post_id FROM {SCHEMA}.likes WHERE user_id = :u ORDER BY post_id DESC LIMIT :n"),
        {"u": user_id, "n": limit},
    )
    return [int(r.post_id) for r in rows]


async def thread_authors(db: AsyncConnection, *, post_id: int, depth: int = 200) -> set[int]:
    """Authors of a post and of every post above it: what it replies to, re-koos or
    quotes, up to the thread's root (at most `depth` steps)."""
    rows = await db.execute(
        text(
            f"WITH RECURSIVE up(id, author_id, parent, n) AS ("
            f"SELECT id, author_id, COALESCE(reply_to_id, repost_of_id), 1 FROM {SCHEMA}.posts WHERE id = :id "
            f"UNION ALL SELECT p.id, p.author_id, COALESCE(p.reply_to_id, p.repost_of_id), up.n + 1 "
            f"FROM {SCHEMA}.posts p JOIN up ON p.id = up.parent WHERE up.n < :depth"
            ") SELECT DISTINCT author_id FROM up"
        ),
        {"id": post_id, "depth": depth},
    )
    return {r.author_id for r in rows}


# Bulk loads (`koo seed`): the post layout in COPY form, beside insert_post, so the seeder
# keeps no copy of it.
POSTS_COPY = (
    f"COPY {SCHEMA}.posts (id, author_id, text, language, hashtags, mentions, mention_ids, created_at) FROM STDIN"
)


def post_copy_line(
    *,
    post_id: int,
    author_id: int,
    body: str,
    language: str,
    hashtags: Sequence[str],
    mentions: Sequence[str],
    mention_ids: Sequence[int],
    created_at: str,
) -> str:
    """One original post (no reply, re-koo or media) for `POSTS_COPY`; `body` is its text."""
    return copy_line([post_id, author_id, body, language, hashtags, mentions, mention_ids, created_at])
