"""OpenSearch backend (opensearch-py): the production engine (Amazon OpenSearch Service).

Same templates and query bodies as Elasticsearch (elastic_bodies.py: OpenSearch 2.x takes
composable index templates, `icu_tokenizer`/`icu_normalizer`/`icu_folding` from the
analysis-icu plugin, which Amazon OpenSearch Service installs on every domain,
`indic_normalization` and the hindi/bengali/english analyzers from analysis-common), the
same behaviour (documents.py); only the client differs. Amazon OpenSearch Service with
fine-grained access control takes HTTP basic auth from its internal user database
(`KOO_OPENSEARCH_USERNAME` / `KOO_OPENSEARCH_PASSWORD`, from Secrets Manager `koo/opensearch`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError, RequestError
from opensearchpy.helpers import async_bulk

from services.search.backends.documents import DocumentIndex


class OpenSearch(DocumentIndex):
    """SearchBackend over OpenSearch indices `<prefix>-posts|users|hashtags`."""

    engine = "opensearch"

    def __init__(self, client: AsyncOpenSearch, *, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self.client = client

    @classmethod
    def connect(cls, url: str, *, prefix: str, username: str | None = None, password: str | None = None) -> OpenSearch:
        auth = (username, password) if username and password else None
        client = AsyncOpenSearch(
            hosts=[url], http_auth=auth, timeout=10, max_retries=2, retry_on_timeout=True, http_compress=True
        )
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
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    async def drop(self) -> None:
        await self.client.indices.delete(index=",".join(self.names.values()), params={"ignore_unavailable": "true"})
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
        params = {"preference": preference} if preference else None
        result = await self.client.search(index=index, body=body, params=params)
        return dict(result)

    async def _sources(self, index: str, ids: list[str], fields: list[str]) -> list[dict[str, Any]]:
        found = await self.client.mget(index=index, body={"ids": ids}, params={"_source": ",".join(fields)})
        return [doc.get("_source") or {} for doc in found["docs"]]
