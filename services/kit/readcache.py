"""Hydration caches in Redis: post records, author summaries and each reader's likes.

Shared by the post service (writes a new post through, answers GetPost from it), the feed
service (hydrates every page from it) and the feed worker (keeps it right from the
outbox events). PostgreSQL stays the source of truth: every entry can vanish (FLUSHALL,
eviction, expiry) and is rebuilt from the owning service on the next read.

Keys (`<prefix>` is `koo`, tests use their own):
- `<prefix>:rc:post:<id>`: a `Post` message, viewer-independent: its author holds only the
  id, `liked_by_me` is false. Two markers instead of a message: `-` the post is deleted
  (kept a day, so reads need not ask), and an empty value, a *tombstone*: the post just
  changed (a like, a reply, a re-koo, a delete). While a tombstone lives nobody fills the
  entry (fills are `SET NX`), so a reader that fetched the row before the change cannot
  write the old counts back after it; readers meanwhile ask the post service.
- `<prefix>:rc:author:<id>`: a `PostAuthor` message (id, handle, name, verified); the same
  tombstone after a profile change.
- `<prefix>:rc:liked:<user>`: a hash of the user's likes, `<post id>` -> `1`, complete for
  posts with id >= its field `f` (0: all of them). A missing hash is unknown, never "none".
- `<prefix>:rc:lgen:<user>`: bumped by each like or unlike of the user; a rebuilt likes
  hash lands only if it did not move while the rebuild read PostgreSQL.
- `<prefix>:rc:profile:<user>`: a `UserProfile` (events proto: handle, name, languages,
  verified) for writers (CreatePost: the author's languages, mentions), and
  `<prefix>:rc:handle:<lowercased handle>` -> user id. Written from `user.created` and
  `user.updated` in commit order (plain SET), filled after a miss with SET NX, so a fill
  that read an older profile never overwrites a newer one. A handle entry is believed only
  if that user's cached profile still has the handle (renames leave old entries behind).

Nothing here depends on who reads: viewer-specific flags live only in the reader's own
likes hash, so no entry can carry one reader's `liked_by_me` to another.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from koo.events.v1 import events_pb2
from koo.post.v1 import post_service_pb2 as post_pb

log = logging.getLogger("koo.readcache")

DELETED = b"-"
TOMBSTONE = b""
# How long a tombstone blocks fills: far longer than a fill's read-then-write takes.
TOMBSTONE_MS = 3_000
RECORD_TTL_S = 24 * 3600
DELETED_TTL_S = 24 * 3600
LIKED_TTL_S = 6 * 3600
# Likes kept per reader (newest posts first); older posts fall below the floor and their
# flag is read from PostgreSQL.
LIKED_CAP = 500
_FLOOR = "f"

# KEYS posts; ARGV tombstone lifetime (ms). Never over the deleted marker: a late like
# event must not make a deleted post look merely changed.
_TOMBSTONE = """
for k = 1, #KEYS do
  if redis.call('GET', KEYS[k]) ~= '-' then redis.call('SET', KEYS[k], '', 'PX', ARGV[1]) end
end
return #KEYS
"""
# KEYS[1] post; ARGV tombstone lifetime (ms). Only over the deleted marker: a post that
# comes back (restored by a moderator, its author's suspension lifted) is read afresh.
_RESTORED = """
if redis.call('GET', KEYS[1]) == '-' then redis.call('SET', KEYS[1], '', 'PX', ARGV[1]) return 1 end
return 0
"""
# KEYS[1] likes hash, KEYS[2] generation; ARGV post id, '1' like / '0' unlike, ttl.
_APPLY_LIKE = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[2] == '1' then redis.call('HSET', KEYS[1], ARGV[1], '1') else redis.call('HDEL', KEYS[1], ARGV[1]) end
end
return 1
"""
# KEYS[1] post; ARGV tombstone lifetime (ms). Only over the deleted marker: a post that
# comes back (restored by a moderator, its author's suspension lifted) is read afresh.
_RESTORED = """
if redis.call('GET', KEYS[1]) == '-' then redis.call('SET', KEYS[1], '', 'PX', ARGV[1]) return 1 end
return 0
"""
# KEYS[1] likes hash, KEYS[2] generation; ARGV generation seen before the read ('' none),
# ttl, floor, then the liked post ids. Lands only if no like or unlike happened since.
_FILL_LIKED = """
local gen = redis.call('GET', KEYS[2]) or ''
if gen ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'f', ARGV[3])
for i = 4, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], '1') end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


@dataclass(frozen=True, slots=True)
class CacheKeys:
    prefix: str = "koo"

    def post(self, post_id: int) -> str:
        return f"{self.prefix}:rc:post:{post_id}"

    def author(self, user_id: int) -> str:
        return f"{self.prefix}:rc:author:{user_id}"

    def liked(self, user_id: int) -> str:
        return f"{self.prefix}:rc:liked:{user_id}"

    def liked_gen(self, user_id: int) -> str:
        return f"{self.prefix}:rc:lgen:{user_id}"

    def graph(self, user_id: int) -> str:
        """A reader's social graph as the feed caches it (services/feed/peers.py)."""
        return f"{self.prefix}:feed:graph:{user_id}"

    def profile(self, user_id: int) -> str:
        return f"{self.prefix}:rc:profile:{user_id}"

    def handle(self, handle: str) -> str:
        return f"{self.prefix}:rc:handle:{handle.lower()}"


@dataclass(slots=True)
class Records:
    """What the cache knows of some posts."""

    posts: dict[int, post_pb.Post] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    missing: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Likes:
    """A reader's likes among some posts: `known` flags, and the posts the cache cannot tell."""

    known: dict[int, bool] = field(default_factory=dict)
    unknown: list[int] = field(default_factory=list)
    # Whether the reader's likes hash is missing (rebuild it), and its generation then.
    missing: bool = False
    generation: str = ""


def viewer_free(post: post_pb.Post) -> post_pb.Post:
    """A copy fit for the shared cache: no viewer's flags, the author as an id only."""
    copy = post_pb.Post()
    copy.CopyFrom(post)
    copy.liked_by_me = False
    author_id = copy.author.id
    copy.ClearField("author")
    copy.author.id = author_id
    return copy


class ReadCache:
    def __init__(self, redis: Redis, *, keys: CacheKeys | None = None) -> None:
        self.redis = redis
        self.keys = keys or CacheKeys()
        self._apply_like = redis.register_script(_APPLY_LIKE)
        self._fill_liked = redis.register_script(_FILL_LIKED)
        self._tombstone = redis.register_script(_TOMBSTONE)
        self._restored = redis.register_script(_RESTORED)

    # Reads ------------------------------------------------------------------------------

    async def read(self, post_ids: Sequence[int], *, viewer_id: int | None) -> tuple[Records, Likes]:
        """Post records and the viewer's likes among them: one round trip."""
        records, likes = Records(), Likes()
        if not post_ids:
            return records, likes
        pipe = self.redis.pipeline(transaction=False)
        pipe.mget([self.keys.post(i) for i in post_ids])
        if viewer_id:
            pipe.hmget(self.keys.liked(viewer_id), [_FLOOR, *(str(i) for i in post_ids)])
            pipe.get(self.keys.liked_gen(viewer_id))
        replies = await pipe.execute()
        _parse_records(post_ids, replies[0], records)
        if viewer_id:
            floor_raw, *flags = replies[1]
            if floor_raw is None:
                likes.missing = True
                likes.generation = _text(replies[2])
                likes.unknown = list(post_ids)
            else:
                floor = int(floor_raw)
                for post_id, flag in zip(post_ids, flags, strict=True):
                    if post_id >= floor:
                        likes.known[post_id] = flag is not None
                    else:
                        likes.unknown.append(post_id)
        return records, likes

    async def records(self, post_ids: Sequence[int]) -> Records:
        records = Records()
        if post_ids:
            _parse_records(post_ids, await self.redis.mget([self.keys.post(i) for i in post_ids]), records)
        return records

    async def authors(self, user_ids: Sequence[int]) -> tuple[dict[int, post_pb.PostAuthor], list[int]]:
        """Author summaries by id, and the ids the cache does not hold."""
        if not user_ids:
            return {}, []
        return _parse_authors(user_ids, await self.redis.mget([self.keys.author(u) for u in user_ids]))

    async def authors_with_records(
        self, user_ids: Sequence[int], post_ids: Sequence[int]
    ) -> tuple[dict[int, post_pb.PostAuthor], list[int], Records]:
        """Author summaries and some post records (re-koos' originals): one round trip."""
        records = Records()
        if not post_ids:
            authors, missing = await self.authors(user_ids)
            return authors, missing, records
        pipe = self.redis.pipeline(transaction=False)
        pipe.mget([self.keys.author(u) for u in user_ids] or [self.keys.author(0)])
        pipe.mget([self.keys.post(i) for i in post_ids])
        raw_authors, raw_posts = await pipe.execute()
        authors, missing = _parse_authors(user_ids, raw_authors)
        _parse_records(post_ids, raw_posts, records)
        return authors, missing, records

    # Fills (after a miss; never over a tombstone or a newer entry) -----------------------

    async def fill(self, posts: Iterable[post_pb.Post]) -> None:
        """Store posts fetched from the post service, and their authors."""
        pipe = self.redis.pipeline(transaction=False)
        n = 0
        for post in posts:
            pipe.set(self.keys.post(post.id), viewer_free(post).SerializeToString(), nx=True, ex=RECORD_TTL_S)
            if post.author.handle:
                pipe.set(self.keys.author(post.author.id), post.author.SerializeToString(), nx=True, ex=RECORD_TTL_S)
            n += 1
        if n:
            await pipe.execute()

    async def fill_authors(self, authors: Iterable[post_pb.PostAuthor]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        n = 0
        for author in authors:
            pipe.set(self.keys.author(author.id), author.SerializeToString(), nx=True, ex=RECORD_TTL_S)
            n += 1
        if n:
            await pipe.execute()

    async def fill_liked(self, viewer_id: int, *, liked: Sequence[int], floor: int, generation: str) -> bool:
        """Store a reader's likes read from PostgreSQL, unless one changed meanwhile."""
        args: list[str | int] = [generation, LIKED_TTL_S, floor, *(str(i) for i in liked)]
        keys = [self.keys.liked(viewer_id), self.keys.liked_gen(viewer_id)]
        return bool(await self._fill_liked(keys=keys, args=args))

    # Changes (from the writer right after commit, and again from the outbox events) ------

    async def created(self, post: post_pb.Post) -> None:
        """A new post: its record goes in at once (its parent's counters changed)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.post(post.id), viewer_free(post).SerializeToString(), nx=True, ex=RECORD_TTL_S)
        if post.author.handle:
            pipe.set(self.keys.author(post.author.id), post.author.SerializeToString(), nx=True, ex=RECORD_TTL_S)
        await pipe.execute()
        await self.changed([post.reply_to_id, post.repost_of_id])

    async def changed(self, post_ids: Iterable[int]) -> None:
        """Counters of these posts changed: readers go to the source until the dust settles."""
        keys = [self.keys.post(i) for i in post_ids if i]
        if keys:
            await self._tombstone(keys=keys, args=[TOMBSTONE_MS])

    async def deleted(self, post_id: int, *, parents: Iterable[int] = ()) -> None:
        await self.redis.set(self.keys.post(post_id), DELETED, ex=DELETED_TTL_S)
        await self.changed(parents)

    async def restored(self, post_id: int) -> None:
        """A deleted post is back: the deleted marker gives way (a new post has none)."""
        await self._restored(keys=[self.keys.post(post_id)], args=[TOMBSTONE_MS])

    async def liked(self, *, user_id: int, post_id: int, on: bool) -> None:
        """A like or unlike: the post's count changed, and the user's likes hash with it."""
        await self.changed([post_id])
        keys = [self.keys.liked(user_id), self.keys.liked_gen(user_id)]
        await self._apply_like(keys=keys, args=[str(post_id), "1" if on else "0", LIKED_TTL_S])

    # Profiles (writers' lookups) --------------------------------------------------------

    async def profiles(self, user_ids: Sequence[int]) -> dict[int, events_pb2.UserProfile]:
        if not user_ids:
            return {}
        raws = await self.redis.mget([self.keys.profile(u) for u in user_ids])
        return {
            u: events_pb2.UserProfile.FromString(raw)
            for u, raw in zip(user_ids, raws, strict=True)
            if isinstance(raw, bytes) and raw
        }

    async def handles(self, handles: Sequence[str]) -> dict[str, events_pb2.UserProfile]:
        """Profiles by lowercased handle, for the handles the cache can vouch for."""
        if not handles:
            return {}
        raws = await self.redis.mget([self.keys.handle(h) for h in handles])
        ids = {h.lower(): int(raw) for h, raw in zip(handles, raws, strict=True) if isinstance(raw, bytes) and raw}
        profiles = await self.profiles(list(set(ids.values())))
        return {h: profiles[i] for h, i in ids.items() if i in profiles and profiles[i].handle.lower() == h}

    async def profiles_known(self, profiles: Iterable[events_pb2.UserProfile], *, fill: bool) -> None:
        """Profiles from an event (`fill=False`: overwrites, events come in order) or read
        from the user service after a miss (`fill=True`: never over a newer one)."""
        pipe = self.redis.pipeline(transaction=False)
        n = 0
        for profile in profiles:
            pipe.set(self.keys.profile(profile.user_id), profile.SerializeToString(), nx=fill, ex=RECORD_TTL_S)
            pipe.set(self.keys.handle(profile.handle), str(profile.user_id), nx=fill, ex=RECORD_TTL_S)
            n += 1
        if n:
            await pipe.execute()

    async def forget_graphs(self, user_ids: Sequence[int]) -> None:
        """Follows, blocks or mutes of these users changed: their next read asks the user service."""
        try:
            if user_ids:
                await self.redis.delete(*(self.keys.graph(u) for u in user_ids))
        except RedisError as exc:  # the feed worker forgets them again from the event
            log.warning("cached graphs of %s not forgotten: %s", list(user_ids), exc)

    async def author_changed(self, user_id: int) -> None:
        await self.redis.set(self.keys.author(user_id), TOMBSTONE, px=TOMBSTONE_MS)

    async def author_known(self, author: post_pb.PostAuthor) -> None:
        """A new account's summary (user.created): its first post's readers need not ask."""
        await self.redis.set(self.keys.author(author.id), author.SerializeToString(), nx=True, ex=RECORD_TTL_S)


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode() if isinstance(raw, bytes) else raw


def _parse_authors(
    user_ids: Sequence[int], raws: Sequence[bytes | str | None]
) -> tuple[dict[int, post_pb.PostAuthor], list[int]]:
    found: dict[int, post_pb.PostAuthor] = {}
    missing: list[int] = []
    for user_id, raw in zip(user_ids, raws, strict=False):
        if isinstance(raw, bytes) and raw:
            found[user_id] = post_pb.PostAuthor.FromString(raw)
        else:
            missing.append(user_id)
    return found, missing


def _parse_records(post_ids: Sequence[int], raws: Sequence[bytes | str | None], into: Records) -> None:
    for post_id, raw in zip(post_ids, raws, strict=True):
        if not isinstance(raw, bytes) or raw == TOMBSTONE:
            into.missing.append(post_id)
        elif raw == DELETED:
            into.deleted.add(post_id)
        else:
            into.posts[post_id] = post_pb.Post.FromString(raw)
