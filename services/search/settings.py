"""Settings of the search service and of the search-indexer worker."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from services.kit.settings import KitSettings


class SearchSettings(KitSettings):
    # KOO_SEARCH_BACKEND: PostgreSQL full-text (default, schema koo_search), OpenSearch
    # (production: Amazon OpenSearch Service, see terraform/search.tf) or Elasticsearch.
    search_backend: Literal["postgres", "opensearch", "elasticsearch"] = "postgres"
    # KOO_OPENSEARCH_URL, e.g. https://vpc-koo-search-....es.amazonaws.com:443 (analysis-icu
    # is on every Amazon OpenSearch domain); basic auth of a fine-grained access control user.
    opensearch_url: str = ""
    opensearch_username: str = ""
    opensearch_password: SecretStr | None = None
    opensearch_index_prefix: str = "koo"
    # KOO_ELASTICSEARCH_URL, e.g. https://search.internal:9200 (needs the analysis-icu plugin).
    elasticsearch_url: str = ""
    elasticsearch_api_key: SecretStr | None = None
    # Index names are `<prefix>-posts`, `<prefix>-users`, `<prefix>-hashtags`.
    elasticsearch_index_prefix: str = "koo"
    # Consumer group of the indexer; a second backend being filled side by side (a
    # migration to Elasticsearch, a test) reads the same events under its own group.
    search_indexer_group: str = "search-indexer"
    # PostgreSQL backend: a post search ranks the newest this-many matches (bounds the
    # cost of very common words; Elasticsearch ranks all matches with top-k pruning).
    search_rank_window: int = Field(default=2000, ge=100)
    # Events the indexer applies per batch (one bulk write per batch).
    search_indexer_batch: int = 200

    @model_validator(mode="after")
    def _elasticsearch_needs_url(self) -> SearchSettings:
        if self.search_backend == "elasticsearch" and not self.elasticsearch_url:
            raise ValueError("KOO_SEARCH_BACKEND=elasticsearch needs KOO_ELASTICSEARCH_URL")
        if self.search_backend == "opensearch" and not self.opensearch_url:
            raise ValueError("KOO_SEARCH_BACKEND=opensearch needs KOO_OPENSEARCH_URL")
        if self.search_backend == "postgres" and self.env == "production" and not self.database_url:
            raise ValueError("the postgres search backend needs KOO_DATABASE_URL")
        return self
