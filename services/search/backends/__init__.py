"""Search backends behind `store.SearchBackend`, chosen by `KOO_SEARCH_BACKEND`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.search.backends.documents import DocumentIndex
from services.search.settings import SearchSettings
from services.search.store import SearchBackend


async def open_backend(settings: SearchSettings, engine: AsyncEngine | None) -> SearchBackend:
    """The configured backend, ready to use (OpenSearch/Elasticsearch templates and indices ensured)."""
    if settings.search_backend in ("opensearch", "elasticsearch"):
        backend: DocumentIndex
        if settings.search_backend == "opensearch":
            from services.search.backends.opensearch import OpenSearch

            password = settings.opensearch_password.get_secret_value() if settings.opensearch_password else None
            backend = OpenSearch.connect(
                settings.opensearch_url,
                prefix=settings.opensearch_index_prefix,
                username=settings.opensearch_username or None,
                password=password,
            )
        else:
            from services.search.backends.elastic import ElasticSearch

            key = settings.elasticsearch_api_key.get_secret_value() if settings.elasticsearch_api_key else None
            backend = ElasticSearch.connect(
                settings.elasticsearch_url, prefix=settings.elasticsearch_index_prefix, api_key=key
            )
        try:
            await backend.setup()
        except Exception:
            await backend.close()
            raise
        return backend
    from services.search.backends.postgres import PostgresSearch

    if engine is None:
        raise RuntimeError("the postgres search backend needs KOO_DATABASE_URL")
    return PostgresSearch(engine, rank_window=settings.search_rank_window)
