"""Elasticsearch backend below the network: the template and the exact JSON sent.

No Elasticsearch server can run here, so the client is given a node class that records
every request and answers like Elasticsearch would; the behavioural suite in
tests/integration/test_search_backends.py runs against a real server when
KOO_TEST_ELASTICSEARCH_URL is set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, BaseAsyncNode, HttpHeaders
from elastic_transport._node._base import NodeApiResponse
from elasticsearch import AsyncElasticsearch

from services.search.analysis import query_words
from services.search.backends import elastic_bodies as bodies
from services.search.backends.elastic import ElasticSearch
from services.search.store import Cursor, HashtagQuery, PostDoc, PostQuery, UserDoc, UserQuery

Answer = tuple[int, dict[str, Any]]
Responder = Callable[[str, str, Any], Answer | None]


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a JSON body, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# The template ------------------------------------------------------------------------


def test_analysis_uses_icu_and_indic_normalization() -> None:
    analysis = bodies.analysis_settings()["analysis"]
    text = analysis["analyzer"]["koo_text"]
    assert text["tokenizer"] == "icu_tokenizer"
    # Legacy ZWJ letters first (nfkc_cf would drop the ZWJ and leave a bare virama)
    joiners = analysis["char_filter"][text["char_filter"][0]]
    assert joiners["type"] == "mapping" and "\u0d28\u0d4d\u200d => \u0d7b" in joiners["mappings"]
    assert analysis["char_filter"][text["char_filter"][1]] == {"type": "icu_normalizer", "name": "nfkc_cf"}
    assert text["filter"][0] == "indic_normalization"
    folding = analysis["filter"][text["filter"][1]]
    # Folding must not touch Indic blocks: it would strip vowel signs and viramas.
    assert folding == {"type": "icu_folding", "unicode_set_filter": "[^\\u0900-\\u0DFF]"}
    for lang in ("ta", "kn", "te", "ml", "mr", "gu", "pa", "or", "as"):
        assert analysis["analyzer"][f"koo_{lang}"]["tokenizer"] == "icu_tokenizer"


def test_posts_mapping_has_a_field_per_language_with_builtin_analyzers_where_they_exist() -> None:
    props = bodies.posts_mappings()["properties"]
    assert props["text_hi"] == {"type": "text", "analyzer": "hindi"}
    assert props["text_bn"] == {"type": "text", "analyzer": "bengali"}
    assert props["text_en"] == {"type": "text", "analyzer": "english"}
    assert props["text_ta"] == {"type": "text", "analyzer": "koo_ta"}
    assert props["text_kn"] == {"type": "text", "analyzer": "koo_kn"}
    assert props["keys"] == {"type": "keyword"}
    assert bodies.posts_mappings()["dynamic"] == "strict"


def test_index_templates_compose_the_analysis_component() -> None:
    templates = bodies.index_templates("koo")
    assert set(templates) == {"koo-posts", "koo-users", "koo-hashtags"}
    posts = templates["koo-posts"]
    assert posts["index_patterns"] == ["koo-posts"]
    assert posts["composed_of"] == ["koo-analysis"]
    assert posts["template"]["mappings"] == bodies.posts_mappings()
    assert bodies.component_template() == {"template": {"settings": bodies.analysis_settings()}}


def test_post_source_fills_only_its_languages_field_and_the_phonetic_keys() -> None:
    doc = PostDoc(7, 3, "#ಕನ್ನಡ ಸುದ್ದಿ", "kn", ("ಕನ್ನಡ",), 1700000000000)
    assert bodies.post_source(doc) == {
        "post_id": 7,
        "author_id": 3,
        "language": "kn",
        "created_at_ms": 1700000000000,
        "deleted": False,
        "text": "#ಕನ್ನಡ ಸುದ್ದಿ",
        "text_kn": "#ಕನ್ನಡ ಸುದ್ದಿ",
        "keys": ["kanad", "sudi"],
        "stem_keys": [],
        "hashtag_keys": ["ಕನ್ನಡ"],
        "hashtags": ["ಕನ್ನಡ"],
    }


# Query bodies ------------------------------------------------------------------------


def test_search_posts_body_exactly() -> None:
    query = PostQuery(
        words=tuple(query_words("bharat ಕನ್ನಡ")),
        limit=21,
        language="kn",
        author_id=5,
        exclude_author_ids=frozenset({9, 8}),
        after=Cursor(1.5, 77),
    )
    fields = bodies.text_fields()
    assert bodies.search_posts_body(query) == {
        "query": {
            "bool": {
                "must": [
                    {
                        "bool": {
                            "should": [
                                {"multi_match": {"query": "bharat", "fields": fields, "type": "best_fields"}},
                                {"terms": {"keys": ["barat", "~parat"], "boost": 0.4}},
                                {"terms": {"stem_keys": ["barat", "~parat"], "boost": 0.2}},
                            ],
                            "minimum_should_match": 1,
                        }
                    },
                    {
                        "bool": {
                            "should": [
                                {"multi_match": {"query": "ಕನ್ನಡ", "fields": fields, "type": "best_fields"}},
                                {"terms": {"keys": ["kanad"], "boost": 0.4}},
                                {"terms": {"stem_keys": ["kanad"], "boost": 0.2}},
                            ],
                            "minimum_should_match": 1,
                        }
                    },
                ],
                "filter": [{"term": {"deleted": False}}, {"term": {"language": "kn"}}, {"term": {"author_id": 5}}],
                "must_not": [{"terms": {"author_id": [8, 9]}}],
            }
        },
        "sort": [{"_score": "desc"}, {"post_id": "desc"}],
        "size": 21,
        "_source": False,
        "track_total_hits": False,
        "search_after": [1.5, 77],
    }


@pytest.mark.parametrize(
    "q", ["title:foo AND *", "' OR 1=1 --", "'; DROP TABLE posts; --", 'a\\"b \\\\ c', "(x OR y)^3 ~2 /re.*/"]
)
def test_query_syntax_is_only_ever_a_value(q: str) -> None:
    query = PostQuery(words=tuple(query_words(q)), limit=10)
    body = bodies.search_posts_body(query)
    keys = {k for k, _ in walk(body)}
    assert "query_string" not in keys and "simple_query_string" not in keys and "regexp" not in keys
    values = [v for k, v in walk(body) if k == "query" and isinstance(v, str)]
    assert values == [w.text for w in query.words]
    for value in values:
        assert value.isalnum()


def test_search_users_body_prefixes_handles_and_names() -> None:
    query = UserQuery(words=tuple(query_words("asha", drop_final_a=False)), limit=11, handle="asha")
    body = bodies.search_users_body(query)
    should = body["query"]["bool"]["should"]
    assert should[0] == {"term": {"handle_lower": {"value": "asha", "boost": 4.0}}}
    assert should[1] == {"prefix": {"handle_lower": {"value": "asha", "boost": 2.0}}}
    per_word = should[2]["bool"]["must"][0]["bool"]["should"]
    assert per_word[0] == {"match_phrase_prefix": {"display_name": {"query": "asha"}}}
    assert {"prefix": {"name_keys": {"value": "asa", "boost": 0.4}}} in per_word
    assert body["sort"] == [{"_score": "desc"}, {"user_id": "desc"}]


def test_search_hashtags_body() -> None:
    body = bodies.search_hashtags_body(HashtagQuery(prefix="kann", limit=10, phonetic="kan", phonetic_coarse="~kan"))
    assert body["query"]["bool"]["should"] == [
        {"prefix": {"tag_key": {"value": "kann"}}},
        {"prefix": {"phonetic": {"value": "kan"}}},
        {"prefix": {"phonetic_coarse": {"value": "~kan"}}},
    ]
    assert body["query"]["bool"]["filter"] == [{"range": {"post_count": {"gt": 0}}}]
    assert body["sort"] == [{"post_count": "desc"}, {"tag_key": "asc"}]


def test_user_versions_follow_the_stream() -> None:
    older = bodies.user_version(UserDoc(1, "a", "A", (1700000000000, 5)))
    newer = bodies.user_version(UserDoc(1, "a", "A", (1700000000000, 6)))
    later = bodies.user_version(UserDoc(1, "a", "A", (1700000000001, 0)))
    assert older < newer < later < 2**63


# The backend through a recording transport -------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.responders: list[Responder] = []

    def node_class(self) -> type[BaseAsyncNode]:
        recorder = self

        class RecordingNode(BaseAsyncNode):
            async def perform_request(  # type: ignore[override]
                self, method: str, target: str, body: bytes | None = None, **_: Any
            ) -> NodeApiResponse:
                parsed = _parse(target, body)
                recorder.requests.append((method, target, parsed))
                status, answer = recorder.answer(method, target, parsed)
                headers = HttpHeaders({"x-elastic-product": "Elasticsearch", "content-type": "application/json"})
                meta = ApiResponseMeta(
                    status=status, http_version="1.1", headers=headers, duration=0.0, node=self.config
                )
                return NodeApiResponse(meta, json.dumps(answer).encode())

            async def close(self) -> None:  # type: ignore[override]
                return None

        return RecordingNode

    def answer(self, method: str, target: str, body: Any) -> tuple[int, dict[str, Any]]:
        for responder in self.responders:
            got = responder(method, target, body)
            if got is not None:
                return got
        if target.startswith("/_bulk"):
            items = [{op: {"_id": meta["_id"], "status": 201}} for op, meta in _bulk_ops(body)]
            return 200, {"took": 1, "errors": False, "items": items}
        if "_search" in target:
            return 200, {"hits": {"hits": []}, "aggregations": {"tags": {"buckets": []}}}
        if "_mget" in target:
            return 200, {"docs": []}
        return 200, {"acknowledged": True}


def _parse(target: str, body: bytes | None) -> Any:
    if body is None:
        return None
    if target.startswith("/_bulk"):
        return [json.loads(line) for line in body.decode().splitlines() if line]
    return json.loads(body)


def _bulk_ops(lines: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    ops = []
    i = 0
    while i < len(lines):
        op, meta = next(iter(lines[i].items()))
        ops.append((op, meta))
        i += 1 if op == "delete" else 2
    return ops


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def backend(recorder: Recorder) -> ElasticSearch:
    client = AsyncElasticsearch("http://es.test:9200", node_class=recorder.node_class())
    return ElasticSearch(client, prefix="kt")


async def test_setup_puts_the_component_and_index_templates_then_creates_indices(recorder: Recorder) -> None:
    es = backend(recorder)
    await es.setup()
    await es.close()
    sent = [(m, t.split("?")[0]) for m, t, _ in recorder.requests]
    assert sent == [
        ("PUT", "/_component_template/kt-analysis"),
        ("PUT", "/_index_template/kt-posts"),
        ("PUT", "/_index_template/kt-users"),
        ("PUT", "/_index_template/kt-hashtags"),
        ("PUT", "/kt-posts"),
        ("PUT", "/kt-users"),
        ("PUT", "/kt-hashtags"),
    ]
    assert recorder.requests[0][2] == bodies.component_template()
    assert recorder.requests[1][2] == bodies.index_templates("kt")["kt-posts"]


async def test_setup_accepts_existing_indices(recorder: Recorder) -> None:
    exists: dict[str, Any] = {"error": {"type": "resource_already_exists_exception", "reason": "exists"}, "status": 400}
    recorder.responders.append(lambda m, t, b: (400, exists) if m == "PUT" and t.startswith("/kt-") else None)
    es = backend(recorder)
    await es.setup()
    await es.close()


async def test_index_posts_bulk_creates_then_recounts_hashtags(recorder: Recorder) -> None:
    counts: dict[str, Any] = {
        "aggregations": {"tags": {"buckets": [{"key": "ಕನ್ನಡ", "doc_count": 3}]}},
        "hits": {"hits": []},
    }
    recorder.responders.append(lambda m, t, b: (200, counts) if t.startswith("/kt-posts/_search") else None)
    es = backend(recorder)
    doc = PostDoc(7, 3, "#ಕನ್ನಡ ಸುದ್ದಿ", "kn", ("ಕನ್ನಡ",), 1)
    await es.index_posts([doc, doc])  # a repeated doc in one batch is sent once
    await es.close()
    (m1, t1, bulk), (m2, t2, count), (m3, t3, tags) = recorder.requests
    assert (m1, t1) == (m3, t3) == ("PUT", "/_bulk?refresh=wait_for")
    assert m2 == "POST"
    assert bulk == [{"create": {"_index": "kt-posts", "_id": "7"}}, bodies.post_source(doc)]
    assert t2.startswith("/kt-posts/_search") and count == bodies.hashtag_count_body(["ಕನ್ನಡ"])
    assert tags[0] == {"update": {"_index": "kt-hashtags", "_id": "ಕನ್ನಡ"}}
    assert tags[1]["doc"] == {"post_count": 3}
    assert tags[1]["upsert"]["tag"] == "ಕನ್ನಡ" and tags[1]["upsert"]["phonetic"] == "kanada"


async def test_redelivered_posts_conflict_and_that_is_fine(recorder: Recorder) -> None:
    def conflict(method: str, target: str, body: Any) -> tuple[int, dict[str, Any]] | None:
        if target.startswith("/_bulk"):
            items = [{"create": {"_id": "7", "status": 409, "error": {"type": "version_conflict_engine_exception"}}}]
            return 200, {"took": 1, "errors": True, "items": items}
        return None

    recorder.responders.append(conflict)
    es = backend(recorder)
    await es.index_posts([PostDoc(7, 3, "नमस्ते", "hi", (), 1)])
    await es.close()


async def test_other_bulk_failures_raise(recorder: Recorder) -> None:
    def failing(method: str, target: str, body: Any) -> tuple[int, dict[str, Any]] | None:
        if target.startswith("/_bulk"):
            items = [{"create": {"_id": "7", "status": 400, "error": {"type": "mapper_parsing_exception"}}}]
            return 200, {"took": 1, "errors": True, "items": items}
        return None

    recorder.responders.append(failing)
    es = backend(recorder)
    with pytest.raises(RuntimeError, match="bulk"):
        await es.index_posts([PostDoc(7, 3, "नमस्ते", "hi", (), 1)])
    await es.close()


async def test_delete_writes_tombstones_and_recounts_without_creating_tags(recorder: Recorder) -> None:
    docs: dict[str, Any] = {
        "docs": [{"_id": "7", "found": True, "_source": {"hashtag_keys": ["cricket"]}}, {"_id": "8", "found": False}]
    }
    recorder.responders.append(lambda m, t, b: (200, docs) if "_mget" in t else None)
    es = backend(recorder)
    await es.delete_posts([8, 7, 7])
    await es.close()
    (_, t1, mget), (_, t2, tomb), (_, t3, _count), (_, t4, tags) = recorder.requests
    assert t1.startswith("/kt-posts/_mget") and mget == {"ids": ["7", "8"]}
    assert t2 == t4 == "/_bulk?refresh=wait_for" and t3.startswith("/kt-posts/_search")
    assert tomb == [
        {"index": {"_index": "kt-posts", "_id": "7"}},
        {"post_id": 7, "deleted": True},
        {"index": {"_index": "kt-posts", "_id": "8"}},
        {"post_id": 8, "deleted": True},
    ]
    assert tags == [{"update": {"_index": "kt-hashtags", "_id": "cricket"}}, {"doc": {"post_count": 0}}]


async def test_users_carry_an_external_version(recorder: Recorder) -> None:
    es = backend(recorder)
    await es.index_users([UserDoc(5, "Asha_R", "आशा", (1700000000000, 2))])
    await es.close()
    _, _, bulk = recorder.requests[0]
    assert bulk[0] == {
        "index": {"_index": "kt-users", "_id": "5", "version": 1700000000000000002, "version_type": "external"}
    }
    assert bulk[1]["handle_lower"] == "asha_r" and bulk[1]["name_keys"] == ["asa"]


async def test_search_posts_sends_the_body_and_reads_the_keyset(recorder: Recorder) -> None:
    hits: dict[str, Any] = {"hits": {"hits": [{"_id": "9", "sort": [2.5, 9]}, {"_id": "4", "sort": [2.5, 4]}]}}
    recorder.responders.append(lambda m, t, b: (200, hits) if t.startswith("/kt-posts/_search") else None)
    es = backend(recorder)
    query = PostQuery(words=tuple(query_words("kannada")), limit=3, session="s1")
    got = await es.search_posts(query)
    await es.close()
    method, target, body = recorder.requests[0]
    assert method == "POST" and target == f"/kt-posts/_search?preference={bodies.preference('s1')}"
    assert body == bodies.search_posts_body(query)
    assert [(h.id, h.score) for h in got] == [(9, 2.5), (4, 2.5)]


async def test_search_hashtags_reads_tag_and_count(recorder: Recorder) -> None:
    hits: dict[str, Any] = {"hits": {"hits": [{"_id": "ಕನ್ನಡ", "_source": {"tag": "ಕನ್ನಡ", "post_count": 4}}]}}
    recorder.responders.append(lambda m, t, b: (200, hits) if t.startswith("/kt-hashtags/_search") else None)
    es = backend(recorder)
    got = await es.search_hashtags(HashtagQuery(prefix="ಕನ್", limit=10))
    await es.close()
    assert [(h.tag, h.post_count) for h in got] == [("ಕನ್ನಡ", 4)]
