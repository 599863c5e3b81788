"""Moderation of posts: removal by a moderator, and hiding a suspended author's posts.

Removed and hidden posts stay in the table with `deleted_at` set, the one switch every
read already checks (direct id, batch gets, reply lists, author timelines), and each
change publishes the event every derived store acts on: `post.deleted` when a post goes
(feeds, timelines, search, trends and notifications drop it) and `post.created` when it
comes back (they add it again). Counters of the parent post follow.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koo.errors.v1.error_reason_pb2 import ErrorReason
from koo.events.v1 import events_pb2 as events_pb
from services.kit.errors import FailedPrecondition, NotFound
from services.kit.events import Event, add_event
from services.post import store
from services.post.domain import Changes, NoChanges, created_event, deleted_event
from services.post.store import SCHEMA, PostRow

log = logging.getLogger("koo.post.moderation")


async def _state(db: AsyncConnection, post_id: int) -> Any:
    return (
        await db.execute(
            text(f"SELECT deleted_at, removed_at, hidden_at FROM {SCHEMA}.posts WHERE id = :id FOR UPDATE"),
            {"id": post_id},
        )
    ).first()


async def _author_hidden(db: AsyncConnection, author_id: int) -> bool:
    row = (
        await db.execute(text(f"SELECT hidden FROM {SCHEMA}.author_states WHERE author_id = :a"), {"a": author_id})
    ).first()
    return bool(row and row.hidden)


async def _parent_count(db: AsyncConnection, row: PostRow, delta: int) -> None:
    if row.reply_to_id:
        await store.adjust_counter(db, post_id=row.reply_to_id, counter="reply_count", delta=delta, live=False)
    elif row.repost_of_id:
        await store.adjust_counter(db, post_id=row.repost_of_id, counter="repost_count", delta=delta, live=False)


async def _gone(db: AsyncConnection, row: PostRow) -> None:
    await _parent_count(db, row, -1)
    await add_event(db, schema=SCHEMA, event=deleted_event(row))


async def _back(db: AsyncConnection, row: PostRow) -> None:
    await _parent_count(db, row, +1)
    parent = row.reply_to_id or row.repost_of_id
    parent_author = await store.author_of(db, post_id=parent) if parent else 0
    await add_event(db, schema=SCHEMA, event=created_event(row, parent_author_id=parent_author))


async def _rows(db: AsyncConnection, ids: list[int]) -> list[PostRow]:
    found = await store.posts_by_ids(db, post_ids=ids, viewer_id=None, live_only=False)
    return [found[i] for i in ids if i in found]


class PostModeration:
    def __init__(self, engine: AsyncEngine, *, changes: Changes | None = None) -> None:
        self.engine = engine
        # The read caches, told right after each commit (GetPost answers from them), as
        # for an author's own delete; the events repeat it from the feed worker.
        self.changes: Changes = changes or NoChanges()

    async def set_removed(self, *, post_id: int, removed: bool) -> int:
        """Remove (or restore) a post; returns its author. Repeating it changes nothing."""
        gone: list[PostRow] = []
        back: list[int] = []
        author = await self._set_removed(post_id, removed, gone, back)
        await self._tell(gone, back)  # after the commit only
        return author

    async def _tell(self, gone: list[PostRow], back: list[int]) -> None:
        for row in gone:
            await self.changes.deleted(row)
        for post_id in back:
            await self.changes.restored(post_id)

    async def _set_removed(self, post_id: int, removed: bool, gone: list[PostRow], back: list[int]) -> int:
        async with self.engine.begin() as db:
            state = await _state(db, post_id)
            if state is None:
                raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
            row = (await _rows(db, [post_id]))[0]
            if removed:
                if state.removed_at is not None:
                    return row.author_id
                if state.deleted_at is not None and state.hidden_at is None:
                    raise NotFound(f"post {post_id} was deleted by its author", reason=ErrorReason.POST_NOT_FOUND)
                await db.execute(
                    text(
                        f"UPDATE {SCHEMA}.posts SET removed_at = now(), deleted_at = COALESCE(deleted_at, now()) "
                        "WHERE id = :id"
                    ),
                    {"id": post_id},
                )
                if state.deleted_at is None:
                    await _gone(db, row)
                    gone.append(row)
                return row.author_id
            if state.removed_at is None:
                if state.deleted_at is None:
                    return row.author_id  # not removed: nothing to restore
                raise FailedPrecondition(
                    f"post {post_id} was not removed by a moderator", reason=ErrorReason.NOT_REMOVED
                )
            if await _author_hidden(db, row.author_id):
                # The author is suspended: the post comes back with the rest of their posts.
                await db.execute(
                    text(f"UPDATE {SCHEMA}.posts SET removed_at = NULL, hidden_at = now() WHERE id = :id"),
                    {"id": post_id},
                )
                return row.author_id
            await db.execute(
                text(f"UPDATE {SCHEMA}.posts SET removed_at = NULL, deleted_at = NULL WHERE id = :id"),
                {"id": post_id},
            )
            await _back(db, row)
            back.append(row.id)
            return row.author_id

    async def apply_user_events(self, events: list[Event]) -> None:
        """user.suspended hides the author's posts; user.unsuspended brings them back.

        Each author's newest change wins (by action id), so a redelivered or late event
        never undoes a newer one.
        """
        for event in events:
            change = event.payload
            if not isinstance(change, events_pb.UserSuspended | events_pb.UserUnsuspended):
                continue
            author, action = change.user_id, change.action_id
            hide = isinstance(change, events_pb.UserSuspended)
            async with self.engine.begin() as db:
                applied = (
                    await db.execute(
                        text(
                            f"INSERT INTO {SCHEMA}.author_states AS s (author_id, hidden, action_id) "
                            "VALUES (:a, :h, :act) ON CONFLICT (author_id) DO UPDATE SET hidden = EXCLUDED.hidden, "
                            "action_id = EXCLUDED.action_id WHERE s.action_id < EXCLUDED.action_id RETURNING 1"
                        ),
                        {"a": author, "h": hide, "act": action},
                    )
                ).first()
                if applied is None:
                    continue
                if hide:
                    changed = await db.execute(
                        text(
                            f"UPDATE {SCHEMA}.posts SET deleted_at = now(), hidden_at = now() "
                            "WHERE author_id = :a AND deleted_at IS NULL RETURNING id"
                        ),
                        {"a": author},
                    )
                    hidden = await _rows(db, [r.id for r in changed])
                    for row in hidden:
                        await _gone(db, row)
                else:
                    changed = await db.execute(
                        text(
                            f"UPDATE {SCHEMA}.posts p SET deleted_at = NULL, hidden_at = NULL "
                            "WHERE p.author_id = :a AND p.hidden_at IS NOT NULL AND p.removed_at IS NULL "
                            f"AND NOT (p.plain_repost AND EXISTS (SELECT 1 FROM {SCHEMA}.posts o "
                            "WHERE o.author_id = p.author_id AND o.repost_of_id = p.repost_of_id AND o.plain_repost "
                            "AND o.deleted_at IS NULL)) RETURNING p.id"
                        ),
                        {"a": author},
                    )
                    shown = await _rows(db, sorted(r.id for r in changed))
                    for row in shown:
                        await _back(db, row)
            if hide:
                await self._tell(hidden, [])
            else:
                await self._tell([], [r.id for r in shown])
            log.info("posts of user %s %s", author, "hidden" if hide else "shown again")
