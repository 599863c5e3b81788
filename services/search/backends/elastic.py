"""Elasticsearch backend (official async client): same behaviour as PostgreSQL's.

Bodies are built in elastic_bodies.py (pure, unit-tested as JSON), the behaviour shared
with OpenSearch is in documents.py; this module only makes the client calls.
"""

from __future__ import annotations

import contextlib
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from elasticsearch.helpers import async_bulk

from services.search.backends.documents import DocumentIndex


class ElasticSearch(DocumentIndex):
    """SearchBackend over Elasticsearch indices `<prefix>-posts|users|hashtags`."""

    engine = "elasticsearch"

    def __init__(self, client: AsyncElasticsearch, *, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self.client = client

    @classmethod
    def connect(cls, url: str, *, prefix: str, api_key: str | None = None) -> ElasticSearch:
        client = AsyncElasticsearch(url, api_key=api_key, request_timeout=10, max_retries=2, retry_on_timeout=True)
        return cls(client, prefix=prefix)

    async def close(self) -> None:
        await self.client.close()

    async def _put_component_template(self, name: str, body: dict[str, Any]) -> None:
        await self.client.cluster.put_component_template(name=name, body=body)

    async def _put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self.client.indices.put_index_template(name=name, body=body)

    async def _create_index(self, name: str) -> None:
        try:
            await self.client.indices.create(index=name)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    async def drop(self) -> None:
        await self.client.indices.delete(index=",".join(self.names.values()), ignore_unavailable=True)
        for name in self.names.values():
            with contextlib.suppress(NotFoundError):
                await self.client.indices.delete_index_template(name=name)
        with contextlib.suppress(NotFoundError):
            await self.client.cluster.delete_component_template(name=f"{self.prefix}-analysis")

    async def _bulk_errors(self, actions: list[dict[str, Any]]) -> list[Any]:
        _, errors = await async_bulk(
            self.client, actions, refresh="wait_for", raise_on_error=False, raise_on_exception=True
        )
        assert isinstance(errors, list)  # stats_only=False: the failed items themselves
        return errors

    async def _search(self, index: str, body: dict[str, Any], *, preference: str | None = None) -> dict[str, Any]:
        result = await self.client.search(index=index, preference=preference, body=body)
        return dict(result)

    async def _sources(self, index: str, ids: list[str], fields: list[str]) -> list[dict[str, Any]]:
        found = await self.client.mget(index=index, ids=ids, source=fields)
        return [doc.get("_source") or {} for doc in found["docs"]]
