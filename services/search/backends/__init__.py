"""Search backends behind `store.SearchBackend`, chosen by `KOO_SEARCH_BACKEND`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.search.settings import SearchSettings
from services.search.store import SearchBackend


async def open_backend(settings: SearchSettings, engine: AsyncEngine | None) -> SearchBackend:
    """The configured backend, ready to use (Elasticsearch templates and indices ensured)."""
    if settings.search_backend == "elasticsearch":
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
