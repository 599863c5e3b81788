"""What the search index stores and answers, whatever engine holds it.

`SearchBackend` is the one interface the indexer and the service use; the PostgreSQL
(`backends/postgres.py`, the default) and Elasticsearch (`backends/elastic.py`) backends
implement it. The index holds only what matching and filtering need: results are
hydrated from the post and user services, so counts are fresh and deleted posts vanish.

Every write is idempotent (at-least-once event delivery): posts are created only if
absent and a deleted post leaves a tombstone, so a redelivered `post.created` never
brings it back; users are replaced only by a newer event (`UserDoc.version`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.search.analysis import QueryWord


@dataclass(frozen=True, slots=True)
class PostDoc:
    post_id: int
    author_id: int
    text: str
    language: str
    hashtags: tuple[str, ...]
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class UserDoc:
    user_id: int
    handle: str
    display_name: str
    # Position of the event in its stream (ms, seq): a lower one never overwrites.
    version: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Keyset position: the last hit's score and id (results sort by both, descending)."""

    score: float
    id: int


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    score: float


@dataclass(frozen=True, slots=True)
class PostQuery:
    words: tuple[QueryWord, ...]
    limit: int
    language: str = ""
    author_id: int = 0
    exclude_author_ids: frozenset[int] = field(default_factory=frozenset)
    after: Cursor | None = None
    # Same value for every page of one search: Elasticsearch routes them to the same
    # shard copies, so scores (and the keyset) stay stable between pages.
    session: str = ""


@dataclass(frozen=True, slots=True)
class UserQuery:
    words: tuple[QueryWord, ...]
    limit: int
    # Lower-case handle prefix when the query looks like a handle, else "".
    handle: str = ""
    exclude_user_ids: frozenset[int] = field(default_factory=frozenset)
    after: Cursor | None = None
    session: str = ""


@dataclass(frozen=True, slots=True)
class HashtagQuery:
    prefix: str  # hashtag key prefix (NFC, case-folded, no `#`)
    limit: int
    phonetic: str = ""  # phonetic-key prefixes of a Latin query ("" when not Latin)
    phonetic_coarse: str = ""


@dataclass(frozen=True, slots=True)
class HashtagHit:
    tag: str
    post_count: int


class SearchBackend(Protocol):
    """An index of posts, users and hashtags."""

    async def index_posts(self, posts: Sequence[PostDoc]) -> None:
        """Add posts not yet indexed (and not deleted); counts their hashtags once."""

    async def delete_posts(self, post_ids: Sequence[int]) -> None:
        """Remove posts for good (a tombstone keeps a late `post.created` out)."""

    async def index_users(self, users: Sequence[UserDoc]) -> None:
        """Add or replace users, unless the index already holds a newer version."""

    async def search_posts(self, query: PostQuery) -> list[Hit]:
        """Up to `limit` posts matching every word, best first, then newest (id)."""

    async def search_users(self, query: UserQuery) -> list[Hit]:
        """Up to `limit` users by handle prefix or display-name words, best first."""

    async def search_hashtags(self, query: HashtagQuery) -> list[HashtagHit]:
        """Hashtags used by live posts starting with the prefix, most used first."""

    async def close(self) -> None:
        """Release connections the backend opened itself."""
