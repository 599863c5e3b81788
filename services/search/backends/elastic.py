"""Elasticsearch backend (official async client): same behaviour as PostgreSQL's.

Bodies are built in elastic_bodies.py (pure, unit-tested as JSON); this module only
sends them. Writes go through `async_bulk` with `refresh="wait_for"` (hashtag counts
are recounted from the posts index right after, and a post indexed from an event is
searchable when the batch is acknowledged). Idempotency: posts are `create`d (a
redelivery or a late create after a delete gets 409, which is expected), deletes write
a tombstone, users carry an external version from their event's stream position.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from elasticsearch.helpers import async_bulk

from services.search.analysis import hashtag_key
from services.search.backends import elastic_bodies as bodies
from services.search.store import HashtagHit, HashtagQuery, Hit, PostDoc, PostQuery, UserDoc, UserQuery

log = logging.getLogger("koo.search.elastic")
_CONFLICT = frozenset({409})
_MISSING = frozenset({404})


class ElasticSearch:
    """SearchBackend over Elasticsearch indices `<prefix>-posts|users|hashtags`."""

    def __init__(self, client: AsyncElasticsearch, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.names = bodies.index_names(prefix)

    @classmethod
    def connect(cls, url: str, *, prefix: str, api_key: str | None = None) -> ElasticSearch:
        client = AsyncElasticsearch(url, api_key=api_key, request_timeout=10, max_retries=2, retry_on_timeout=True)
        return cls(client, prefix=prefix)

    async def close(self) -> None:
        await self.client.close()

    async def setup(self) -> None:
        """Install the analysis component template and index templates, create indices."""
        await self.client.cluster.put_component_template(
            name=f"{self.prefix}-analysis", body=bodies.component_template()
        )
        for name, body in bodies.index_templates(self.prefix).items():
            await self.client.indices.put_index_template(name=name, body=body)
        for name in self.names.values():
            try:
                await self.client.indices.create(index=name)
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise

    async def drop(self) -> None:
        """Delete the indices and templates (tests and benchmarks clean up with it)."""
        await self.client.indices.delete(index=",".join(self.names.values()), ignore_unavailable=True)
        for name in self.names.values():
            with contextlib.suppress(NotFoundError):
                await self.client.indices.delete_index_template(name=name)
        with contextlib.suppress(NotFoundError):
            await self.client.cluster.delete_component_template(name=f"{self.prefix}-analysis")

    async def _bulk(self, actions: list[dict[str, Any]], *, expected: frozenset[int] = frozenset()) -> None:
        """Bulk write; item failures with an `expected` status (409, 404) are outcomes, not errors."""
        if not actions:
            return
        _, errors = await async_bulk(
            self.client, actions, refresh="wait_for", raise_on_error=False, raise_on_exception=True
        )
        assert isinstance(errors, list)  # stats_only=False: the failed items themselves
        failures = [e for e in errors if not isinstance(e, dict) or _status(e) not in expected]
        if failures:
            raise RuntimeError(f"elasticsearch bulk: {len(failures)} failed, first: {failures[0]}")

    # Writing -------------------------------------------------------------------------

    async def index_posts(self, posts: Sequence[PostDoc]) -> None:
        posts = list({p.post_id: p for p in posts}.values())
        if not posts:
            return
        await self._bulk(bodies.post_actions(self.names["posts"], posts), expected=_CONFLICT)
        first_forms: dict[str, str] = {}
        for post in posts:
            for tag in post.hashtags:
                first_forms.setdefault(hashtag_key(tag), tag.lstrip("#"))
        await self._recount_hashtags(first_forms, create=True)

    async def delete_posts(self, post_ids: Sequence[int]) -> None:
        ids = sorted(set(post_ids))
        if not ids:
            return
        found = await self.client.mget(index=self.names["posts"], ids=[str(i) for i in ids], source=["hashtag_keys"])
        tags = {t: t for doc in found["docs"] for t in (doc.get("_source") or {}).get("hashtag_keys", [])}
        await self._bulk(bodies.tombstone_actions(self.names["posts"], ids))
        await self._recount_hashtags(tags, create=False)

    async def _recount_hashtags(self, first_forms: dict[str, str], *, create: bool) -> None:
        """Set each hashtag's count to its live posts, counted in the posts index."""
        if not first_forms:
            return
        body = bodies.hashtag_count_body(list(first_forms))
        result = await self.client.search(index=self.names["posts"], body=body)
        counts = {key: 0 for key in first_forms}
        for bucket in result["aggregations"]["tags"]["buckets"]:
            counts[bucket["key"]] = int(bucket["doc_count"])
        actions = bodies.hashtag_actions(self.names["hashtags"], counts, first_forms)
        if not create:
            for action in actions:
                action.pop("upsert")  # a delete never creates a hashtag: 404 is fine
        await self._bulk(actions, expected=frozenset() if create else _MISSING)

    async def index_users(self, users: Sequence[UserDoc]) -> None:
        # 409: the index already holds this or a newer version of the user.
        await self._bulk(bodies.user_actions(self.names["users"], users), expected=_CONFLICT)

    # Reading -------------------------------------------------------------------------

    async def search_posts(self, query: PostQuery) -> list[Hit]:
        if not query.words:
            return []
        result = await self.client.search(
            index=self.names["posts"], preference=bodies.preference(query.session), body=bodies.search_posts_body(query)
        )
        return [Hit(int(h["sort"][1]), float(h["sort"][0])) for h in result["hits"]["hits"]]

    async def search_users(self, query: UserQuery) -> list[Hit]:
        if not query.words and not query.handle:
            return []
        result = await self.client.search(
            index=self.names["users"], preference=bodies.preference(query.session), body=bodies.search_users_body(query)
        )
        return [Hit(int(h["sort"][1]), float(h["sort"][0])) for h in result["hits"]["hits"]]

    async def search_hashtags(self, query: HashtagQuery) -> list[HashtagHit]:
        result = await self.client.search(index=self.names["hashtags"], body=bodies.search_hashtags_body(query))
        return [HashtagHit(h["_source"]["tag"], int(h["_source"]["post_count"])) for h in result["hits"]["hits"]]


def _status(error: dict[str, Any]) -> int:
    """HTTP status of one failed bulk item ({"create": {"status": 409, ...}})."""
    for item in error.values():
        if isinstance(item, dict) and "status" in item:
            return int(item["status"])
    return 0
