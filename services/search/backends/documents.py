"""What the Elasticsearch and OpenSearch backends share: everything but the client.

Both engines speak the same query DSL and take the same templates (elastic_bodies.py);
their Python clients differ (`elasticsearch` refuses to talk to OpenSearch servers, and
`opensearch-py` takes query parameters and exceptions of its own). A subclass supplies
the few client calls below; the behaviour lives here once.

Writes go through bulk with `refresh="wait_for"` (hashtag counts are recounted from the
posts index right after, and a post indexed from an event is searchable when the batch is
acknowledged). Idempotency: posts are `create`d (a redelivery or a late create after a
delete gets 409, which is expected), deletes write a tombstone, users carry an external
version from their event's stream position.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from services.search.analysis import hashtag_key
from services.search.backends import elastic_bodies as bodies
from services.search.store import HashtagHit, HashtagQuery, Hit, PostDoc, PostQuery, UserDoc, UserQuery

CONFLICT = frozenset({409})
MISSING = frozenset({404})


class DocumentIndex(ABC):
    """SearchBackend over indices `<prefix>-posts|users|hashtags` of a search engine."""

    engine = "search engine"

    def __init__(self, *, prefix: str) -> None:
        self.prefix = prefix
        self.names = bodies.index_names(prefix)

    # The client calls a subclass provides ---------------------------------------------

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _put_component_template(self, name: str, body: dict[str, Any]) -> None: ...

    @abstractmethod
    async def _put_index_template(self, name: str, body: dict[str, Any]) -> None: ...

    @abstractmethod
    async def _create_index(self, name: str) -> None:
        """Create the index; one that already exists is fine."""

    @abstractmethod
    async def drop(self) -> None:
        """Delete the indices and templates (tests and benchmarks clean up with it)."""

    @abstractmethod
    async def _bulk_errors(self, actions: list[dict[str, Any]]) -> list[Any]:
        """Send bulk actions; the failed items (raises only when the call itself fails)."""

    @abstractmethod
    async def _search(self, index: str, body: dict[str, Any], *, preference: str | None = None) -> dict[str, Any]: ...

    @abstractmethod
    async def _sources(self, index: str, ids: list[str], fields: list[str]) -> list[dict[str, Any]]:
        """`_source` (only `fields`) of the documents found among `ids`."""

    # Behaviour ------------------------------------------------------------------------

    async def setup(self) -> None:
        """Install the analysis component template and index templates, create indices."""
        await self._put_component_template(f"{self.prefix}-analysis", bodies.component_template())
        for name, body in bodies.index_templates(self.prefix).items():
            await self._put_index_template(name, body)
        for name in self.names.values():
            await self._create_index(name)

    async def _bulk(self, actions: list[dict[str, Any]], *, expected: frozenset[int] = frozenset()) -> None:
        """Bulk write; item failures with an `expected` status (409, 404) are outcomes, not errors."""
        if not actions:
            return
        errors = await self._bulk_errors(actions)
        failures = [e for e in errors if not isinstance(e, dict) or _status(e) not in expected]
        if failures:
            raise RuntimeError(f"{self.engine} bulk: {len(failures)} failed, first: {failures[0]}")

    async def index_posts(self, posts: Sequence[PostDoc]) -> None:
        posts = list({p.post_id: p for p in posts}.values())
        if not posts:
            return
        await self._bulk(bodies.post_actions(self.names["posts"], posts), expected=CONFLICT)
        first_forms: dict[str, str] = {}
        for post in posts:
            for tag in post.hashtags:
                first_forms.setdefault(hashtag_key(tag), tag.lstrip("#"))
        await self._recount_hashtags(first_forms, create=True)

    async def delete_posts(self, post_ids: Sequence[int]) -> None:
        ids = sorted(set(post_ids))
        if not ids:
            return
        found = await self._sources(self.names["posts"], [str(i) for i in ids], ["hashtag_keys"])
        tags = {t: t for source in found for t in source.get("hashtag_keys", [])}
        await self._bulk(bodies.tombstone_actions(self.names["posts"], ids))
        await self._recount_hashtags(tags, create=False)

    async def _recount_hashtags(self, first_forms: dict[str, str], *, create: bool) -> None:
        """Set each hashtag's count to its live posts, counted in the posts index."""
        if not first_forms:
            return
        result = await self._search(self.names["posts"], bodies.hashtag_count_body(list(first_forms)))
        counts = {key: 0 for key in first_forms}
        for bucket in result["aggregations"]["tags"]["buckets"]:
            counts[bucket["key"]] = int(bucket["doc_count"])
        actions = bodies.hashtag_actions(self.names["hashtags"], counts, first_forms)
        if not create:
            for action in actions:
                action.pop("upsert")  # a delete never creates a hashtag: 404 is fine
        await self._bulk(actions, expected=frozenset() if create else MISSING)

    async def index_users(self, users: Sequence[UserDoc]) -> None:
        # 409: the index already holds this or a newer version of the user.
        await self._bulk(bodies.user_actions(self.names["users"], users), expected=CONFLICT)

    async def search_posts(self, query: PostQuery) -> list[Hit]:
        if not query.words:
            return []
        result = await self._search(
            self.names["posts"], bodies.search_posts_body(query), preference=bodies.preference(query.session)
        )
        return [Hit(int(h["sort"][1]), float(h["sort"][0])) for h in result["hits"]["hits"]]

    async def search_users(self, query: UserQuery) -> list[Hit]:
        if not query.words and not query.handle:
            return []
        result = await self._search(
            self.names["users"], bodies.search_users_body(query), preference=bodies.preference(query.session)
        )
        return [Hit(int(h["sort"][1]), float(h["sort"][0])) for h in result["hits"]["hits"]]

    async def search_hashtags(self, query: HashtagQuery) -> list[HashtagHit]:
        result = await self._search(self.names["hashtags"], bodies.search_hashtags_body(query))
        return [HashtagHit(h["_source"]["tag"], int(h["_source"]["post_count"])) for h in result["hits"]["hits"]]


def _status(error: dict[str, Any]) -> int:
    """HTTP status of one failed bulk item ({"create": {"status": 409, ...}})."""
    for item in error.values():
        if isinstance(item, dict) and "status" in item:
            return int(item["status"])
    return 0
