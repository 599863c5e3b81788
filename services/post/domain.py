"""Post rules: creating, reading, deleting, liking and re-kooing. Knows nothing of gRPC.

Every write and its event commit in one transaction (outbox). Counters (likes, replies,
re-koos) change in the same transaction as the row that causes them, guarded so a
repeat changes nothing: like rows by primary key, posts by request id and by the
one-live-plain-re-koo index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koo.events.v1 import events_pb2 as events_pb
from koo.media.v1 import media_service_pb2 as media_pb
from services.kit.blocks import blocked_out, post_hidden
from services.kit.errors import ErrorReason, InvalidArgument, NotFound, PermissionDenied
from services.kit.events import add_event
from services.kit.ids import Snowflake
from services.kit.paging import decode_token, encode_token
from services.kit.text import TextError, clean_text, extract_hashtags, extract_mentions, language_problem
from services.post import store
from services.post.langdetect import choose_language
from services.post.peers import Author, Peers
from services.post.store import NewPost, PostRefRow, PostRow

MAX_TEXT = 500
MAX_MEDIA = 4
MAX_BATCH = 500
MAX_AUTHORS = 5000
DEFAULT_AUTHOR_LIMIT = 800
MAX_AUTHOR_LIMIT = 2000
MAX_REQUEST_ID = 128
DEFAULT_LIKED_LIMIT = 500
MAX_LIKED_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class PostView:
    """A post with what a reader sees beside it."""

    row: PostRow
    author: Author | None
    media: list[media_pb.Media] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Draft:
    """What CreatePost asked for, as received."""

    text: str
    language: str = ""
    media_ids: Sequence[int] = ()
    reply_to_id: int = 0
    repost_of_id: int = 0
    request_id: str = ""


class Changes(Protocol):
    """Told of each committed change at once (the read caches); the outbox events repeat it."""

    async def created(self, view: PostView) -> None: ...

    async def deleted(self, row: PostRow) -> None: ...

    async def liked(self, *, user_id: int, post_id: int, on: bool) -> None: ...

    async def restored(self, post_id: int) -> None: ...


class NoChanges:
    async def created(self, view: PostView) -> None:
        return None

    async def deleted(self, row: PostRow) -> None:
        return None

    async def liked(self, *, user_id: int, post_id: int, on: bool) -> None:
        return None

    async def restored(self, post_id: int) -> None:
        return None


def _positive_id(value: int, name: str, violations: dict[str, str]) -> None:
    if value < 0:
        violations[name] = f"{name} must be a post id"


def check_post_id(post_id: int) -> int:
    if post_id <= 0:
        raise InvalidArgument("post_id", message="post_id must be a post id")
    return post_id


class PostDomain:
    def __init__(self, engine: AsyncEngine, *, ids: Snowflake, peers: Peers, changes: Changes | None = None) -> None:
        self.engine = engine
        self.ids = ids
        self.peers = peers
        self.changes: Changes = changes or NoChanges()

    # Create ---------------------------------------------------------------------------

    def _validate(self, draft: Draft) -> tuple[str, list[int]]:
        """Checks every field at once; returns the clean text and media ids."""
        violations: dict[str, str] = {}
        clean = ""
        try:
            clean = clean_text(draft.text, max_graphemes=MAX_TEXT, allow_empty=True)
        except TextError as exc:
            violations["text"] = f"text {exc}"
        media_ids = list(draft.media_ids)
        if len(media_ids) > MAX_MEDIA:
            violations["media_ids"] = f"media_ids: at most {MAX_MEDIA} media per post"
        elif any(m <= 0 for m in media_ids):
            violations["media_ids"] = "media_ids must be media ids"
        elif len(set(media_ids)) != len(media_ids):
            violations["media_ids"] = "media_ids: the same media twice"
        if not clean and "text" not in violations and not media_ids and not draft.repost_of_id:
            violations["text"] = "text must not be empty (except with media or as a plain re-koo)"
        problem = language_problem([draft.language] if draft.language else [], field="language")
        if problem:
            violations["language"] = problem
        _positive_id(draft.reply_to_id, "reply_to_id", violations)
        _positive_id(draft.repost_of_id, "repost_of_id", violations)
        if draft.reply_to_id and draft.repost_of_id:
            violations["repost_of_id"] = "a post is a reply or a re-koo, not both"
        if len(draft.request_id) > MAX_REQUEST_ID:
            violations["request_id"] = f"request_id is longer than {MAX_REQUEST_ID} characters"
        if violations:
            raise InvalidArgument(violations)
        return clean, media_ids

    async def create(self, *, author_id: int, draft: Draft) -> PostView:
        clean, media_ids = self._validate(draft)
        if draft.request_id:
            async with self.engine.connect() as db:
                earlier = await store.post_by_request(db, author_id=author_id, request_id=draft.request_id)
            if earlier is not None:
                return await self._earlier(earlier)

        parent_id = draft.reply_to_id or draft.repost_of_id
        parent_field = "reply_to_id" if draft.reply_to_id else "repost_of_id"
        parent: PostRow | None = None
        if parent_id:
            parent = await self._live(parent_id, field=parent_field)
            if draft.repost_of_id and parent.plain_repost:
                # A re-koo of a re-koo re-koos the original.
                parent = await self._live(parent.repost_of_id, field=parent_field)
        plain = bool(draft.repost_of_id) and not clean and not media_ids

        # Independent checks against other services run together.
        authors_call = self.peers.authors([author_id])
        blocked_call = self._blocked(author_id, parent)
        handles = extract_mentions(clean)
        mentions_call = self.peers.resolve_handles(handles)
        media_call = self._media_for(author_id, media_ids)
        authors, blocked, mentions, media = await asyncio.gather(authors_call, blocked_call, mentions_call, media_call)
        author = authors.get(author_id)
        if author is None:
            raise NotFound("your account no longer exists", reason=ErrorReason.USER_NOT_FOUND)
        if blocked:
            raise PermissionDenied(
                "you cannot reply to or re-koo this post" if draft.reply_to_id else "you cannot re-koo this post",
                reason=ErrorReason.BLOCKED,
            )

        if draft.language:
            language = draft.language
        elif plain and parent is not None:
            language = parent.language  # a plain re-koo reads in its original's language
        else:
            language = choose_language(clean, author_languages=author.languages)

        new = NewPost(
            id=self.ids.next_id(),
            author_id=author_id,
            text=clean,
            language=language,
            hashtags=extract_hashtags(clean),
            mentions=[h for _, h in mentions],
            mention_ids=[i for i, _ in mentions],
            media_ids=media_ids,
            reply_to_id=draft.reply_to_id,
            repost_of_id=parent.id if draft.repost_of_id and parent else 0,
            plain_repost=plain,
            request_id=draft.request_id,
        )
        async with self.engine.begin() as db:
            row = await store.insert_post(db, new)
            if row is None:
                # A concurrent try with this request id (or a plain re-koo) won: return it.
                earlier = await self._conflicting(db, new)
            else:
                earlier = None
                await self._count_child(db, row, delta=1, field=parent_field)
                await add_event(
                    db,
                    schema=store.SCHEMA,
                    event=created_event(row, parent_author_id=parent.author_id if parent else 0),
                )
        if earlier is not None:
            return await self._earlier(earlier)
        assert row is not None
        if row.repost_of_id and parent is not None:
            # The insert does not look the original up: its author is the parent's.
            row = replace(row, repost_of_author_id=parent.author_id)
        view = PostView(row=row, author=author, media=media)
        await self.changes.created(view)
        return view

    async def _blocked(self, author_id: int, parent: PostRow | None) -> bool:
        """Whether a block stands between the author and anyone up the parent's thread
        (the post replied to or re-koo'd, what that quotes, the thread's root)."""
        if parent is None:
            return False
        async with self.engine.connect() as db:
            authors = await store.thread_authors(db, post_id=parent.id)
        authors.discard(author_id)
        if not authors:
            return False
        return blocked_out(await self.peers.block_set(author_id), authors)

    async def block_set(self, viewer_id: int | None) -> frozenset[int]:
        return frozenset() if viewer_id is None else await self.peers.block_set(viewer_id)

    async def _media_for(self, author_id: int, media_ids: list[int]) -> list[media_pb.Media]:
        if not media_ids:
            return []
        # Hook for the media service: only the author's own media, and only when ready.
        return await self.peers.owned_ready_media(owner_id=author_id, media_ids=media_ids)

    async def _conflicting(self, db: AsyncConnection, new: NewPost) -> PostRow:
        found: PostRow | None = None
        if new.request_id:
            found = await store.post_by_request(db, author_id=new.author_id, request_id=new.request_id)
        if found is None and new.plain_repost:
            found = await store.live_plain_repost(db, author_id=new.author_id, original_id=new.repost_of_id)
        if found is None:
            # The conflicting row was itself rolled back or deleted meanwhile: let the client retry.
            raise NotFound("the post this request created is gone; retry with a new request_id")
        return found

    async def _earlier(self, row: PostRow) -> PostView:
        if row.deleted:
            raise NotFound("the post created with this request_id was deleted", reason=ErrorReason.POST_NOT_FOUND)
        return await self.get(post_id=row.id, viewer_id=row.author_id)

    async def _count_child(self, db: AsyncConnection, row: PostRow, *, delta: int, field: str) -> None:
        """Keep the parent's reply or re-koo count in step with its children."""
        if row.reply_to_id:
            ok = await store.adjust_counter(
                db, post_id=row.reply_to_id, counter="reply_count", delta=delta, live=delta > 0
            )
        elif row.repost_of_id:
            ok = await store.adjust_counter(
                db, post_id=row.repost_of_id, counter="repost_count", delta=delta, live=delta > 0
            )
        else:
            return
        if delta > 0 and not ok:
            # The parent was deleted after we looked: the transaction rolls back.
            raise NotFound(f"{field}: that post does not exist", reason=ErrorReason.POST_NOT_FOUND)

    async def _live(self, post_id: int, *, field: str) -> PostRow:
        async with self.engine.connect() as db:
            rows = await store.posts_by_ids(db, post_ids=[post_id], viewer_id=None)
        if post_id not in rows:
            raise NotFound(f"{field}: no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
        return rows[post_id]

    # Read -----------------------------------------------------------------------------

    async def get(self, *, post_id: int, viewer_id: int | None) -> PostView:
        views = await self.batch_get(post_ids=[check_post_id(post_id)], viewer_id=viewer_id)
        if not views:
            raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
        return views[0]

    async def batch_get(self, *, post_ids: Sequence[int], viewer_id: int | None) -> list[PostView]:
        """Posts in the order asked, deleted and unknown ones left out: one SQL query, one
        BatchGetUsers, and one BatchGetMedia when any post has media."""
        if len(post_ids) > MAX_BATCH:
            raise InvalidArgument("post_ids", message=f"post_ids holds more than {MAX_BATCH} ids")
        ids = [i for i in dict.fromkeys(post_ids) if i > 0]
        if not ids:
            return []
        rows, blocked = await asyncio.gather(self._rows(ids, viewer_id), self.block_set(viewer_id))
        ordered = [rows[i] for i in ids if i in rows and not _hidden(rows[i], blocked)]
        return await self._hydrate(ordered)

    async def _rows(self, ids: list[int], viewer_id: int | None) -> dict[int, PostRow]:
        async with self.engine.connect() as db:
            return await store.posts_by_ids(db, post_ids=ids, viewer_id=viewer_id)

    async def _hydrate(self, rows: list[PostRow]) -> list[PostView]:
        if not rows:
            return []
        media_ids = [m for r in rows for m in r.media_ids]
        authors, media = await asyncio.gather(
            self.peers.authors([r.author_id for r in rows]), self.peers.media_or_empty(media_ids)
        )
        return [
            PostView(row=r, author=authors.get(r.author_id), media=[media[m] for m in r.media_ids if m in media])
            for r in rows
        ]

    async def list_replies(
        self, *, post_id: int, size: int, page_token: str, viewer_id: int | None
    ) -> tuple[list[PostView], str]:
        check_post_id(post_id)
        cursor = decode_token(page_token, kind="replies")
        if cursor is not None and cursor.get("p") != post_id:
            raise InvalidArgument("page_token", message="page_token belongs to another list")
        after_id = _cursor_id(cursor) if cursor else 0
        blocked = await self.block_set(viewer_id)
        async with self.engine.connect() as db:
            parents = await store.posts_by_ids(db, post_ids=[post_id], viewer_id=None)
            if post_id not in parents or _hidden(parents[post_id], blocked):
                raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
            rows = await store.replies_page(
                db, parent_id=post_id, after_id=after_id, limit=size + 1, viewer_id=viewer_id
            )
        more = len(rows) > size
        rows = rows[:size]
        token = encode_token({"k": "replies", "p": post_id, "c": rows[-1].id}) if more else ""
        return await self._hydrate([r for r in rows if not _hidden(r, blocked)]), token

    async def author_posts(
        self, *, author_ids: Sequence[int], before_id: int, limit: int, exclude_replies: bool
    ) -> list[PostRefRow]:
        violations: dict[str, str] = {}
        if len(author_ids) > MAX_AUTHORS:
            violations["author_ids"] = f"author_ids holds more than {MAX_AUTHORS} ids"
        if before_id < 0:
            violations["before_id"] = "before_id must be a post id or 0"
        if limit < 0:
            violations["limit"] = "limit must not be negative"
        if violations:
            raise InvalidArgument(violations)
        n = min(limit or DEFAULT_AUTHOR_LIMIT, MAX_AUTHOR_LIMIT)
        async with self.engine.connect() as db:
            return await store.author_post_refs(
                db,
                author_ids=[a for a in dict.fromkeys(author_ids) if a > 0],
                before_id=before_id,
                limit=n,
                exclude_replies=exclude_replies,
            )

    # Delete ---------------------------------------------------------------------------

    async def delete(self, *, post_id: int, caller_id: int) -> None:
        check_post_id(post_id)
        async with self.engine.begin() as db:
            row = await store.lock_post(db, post_id=post_id)
            if row is None or row.deleted:
                raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
            if row.author_id != caller_id:
                raise PermissionDenied("only its author may delete a post", reason=ErrorReason.NOT_AUTHOR)
            await self._delete_locked(db, row)
        await self.changes.deleted(row)

    async def _delete_locked(self, db: AsyncConnection, row: PostRow) -> None:
        await store.mark_deleted(db, post_id=row.id)
        await self._count_child(db, row, delta=-1, field="post_id")
        await add_event(db, schema=store.SCHEMA, event=deleted_event(row))

    async def undo_repost(self, *, post_id: int, caller_id: int) -> PostView:
        check_post_id(post_id)
        undone: PostRow | None = None
        async with self.engine.begin() as db:
            repost = await store.live_plain_repost(db, author_id=caller_id, original_id=post_id)
            if repost is not None:
                locked = await store.lock_post(db, post_id=repost.id)
                if locked is not None and not locked.deleted:
                    await self._delete_locked(db, locked)
                    undone = locked
        if undone is not None:
            await self.changes.deleted(undone)
        return await self.get(post_id=post_id, viewer_id=caller_id)

    # Likes ----------------------------------------------------------------------------

    async def like(self, *, post_id: int, user_id: int, on: bool) -> PostView:
        check_post_id(post_id)
        if on:
            rows, blocked = await asyncio.gather(self._rows([post_id], None), self.block_set(user_id))
            if post_id not in rows:
                raise NotFound(f"no post has the id {post_id}", reason=ErrorReason.POST_NOT_FOUND)
            if _hidden(rows[post_id], blocked):
                raise PermissionDenied("you cannot like this post", reason=ErrorReason.BLOCKED)
        async with self.engine.begin() as db:
            if on:
                changed = await store.insert_like(db, post_id=post_id, user_id=user_id)
            else:
                changed = await store.delete_like(db, post_id=post_id, user_id=user_id)
            if changed:
                # Same transaction as the like row: the count can never drift from the rows.
                await store.adjust_counter(db, post_id=post_id, counter="like_count", delta=1 if on else -1, live=False)
                author_id = await store.author_of(db, post_id=post_id)
                event = events_pb.PostLiked if on else events_pb.PostUnliked
                await add_event(
                    db, schema=store.SCHEMA, event=event(post_id=post_id, user_id=user_id, author_id=author_id)
                )
        if changed:
            await self.changes.liked(user_id=user_id, post_id=post_id, on=on)
        return await self.get(post_id=post_id, viewer_id=user_id)

    async def liked_post_ids(self, *, user_id: int, caller_id: int, limit: int) -> tuple[list[int], bool]:
        """The user's likes, newest post first, and whether that is all of them."""
        if user_id != caller_id:
            raise PermissionDenied("only you may list your likes", reason=ErrorReason.NOT_YOURS)
        if limit < 0:
            raise InvalidArgument("limit", message="limit must not be negative")
        n = min(limit or DEFAULT_LIKED_LIMIT, MAX_LIKED_LIMIT)
        async with self.engine.connect() as db:
            ids = await store.liked_post_ids(db, user_id=user_id, limit=n + 1)
        return ids[:n], len(ids) <= n


def _hidden(row: PostRow, blocked: frozenset[int]) -> bool:
    return post_hidden(blocked, author_id=row.author_id, repost_of_author_id=row.repost_of_author_id)


def _cursor_id(cursor: dict[str, Any]) -> int:
    value = cursor.get("c")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument("page_token", message="page_token is not a token this list issued")
    return value


def created_event(row: PostRow, *, parent_author_id: int) -> events_pb.PostCreated:
    return events_pb.PostCreated(
        post_id=row.id,
        author_id=row.author_id,
        text=row.text,
        language=row.language,
        hashtags=row.hashtags,
        mention_ids=row.mention_ids,
        media_ids=row.media_ids,
        reply_to_id=row.reply_to_id or 0,
        repost_of_id=row.repost_of_id or 0,
        created_at_ms=int(row.created_at.timestamp() * 1000),
        parent_author_id=parent_author_id,
    )


def deleted_event(row: PostRow) -> events_pb.PostDeleted:
    return events_pb.PostDeleted(
        post_id=row.id,
        author_id=row.author_id,
        language=row.language,
        hashtags=row.hashtags,
        reply_to_id=row.reply_to_id or 0,
        repost_of_id=row.repost_of_id or 0,
    )
