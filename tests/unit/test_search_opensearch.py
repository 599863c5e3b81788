"""The OpenSearch backend below the network call: what opensearch-py sends, exactly.

No OpenSearch server runs on the build machines, so (as for Elasticsearch) the client is
given a connection that records each request and answers like the server; the behavioural
suite (tests/integration/test_search_backends.py) runs against a real server when
KOO_TEST_OPENSEARCH_URL is set.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from opensearchpy import AsyncOpenSearch
from opensearchpy._async.http_aiohttp import AsyncConnection

from services.search.analysis import query_words
from services.search.backends import elastic_bodies as bodies
from services.search.backends.opensearch import OpenSearch
from services.search.store import PostDoc, PostQuery, UserDoc
from tests.unit.test_search_elastic import Recorder, _parse


class OpenSearchRecorder(Recorder):
    def connection_class(self) -> type[AsyncConnection]:
        recorder = self

        class RecordingConnection(AsyncConnection):
            async def perform_request(  # type: ignore[override]
                self,
                method: str,
                url: str,
                params: Mapping[str, Any] | None = None,
                body: bytes | None = None,
                timeout: float | None = None,  # noqa: ASYNC109 - the signature opensearch-py calls
                ignore: Collection[int] = (),
                headers: Mapping[str, str] | None = None,
            ) -> tuple[int, dict[str, str], str]:
                target = f"{url}?{urlencode(params)}" if params else url
                parsed = _parse(target, body)
                recorder.requests.append((method, target, parsed))
                status, answer = recorder.answer(method, target, parsed)
                raw = json.dumps(answer)
                if not 200 <= status < 300 and status not in ignore:
                    self._raise_error(status, raw, "application/json")
                return status, {"content-type": "application/json"}, raw

            async def close(self) -> None:
                return None

        return RecordingConnection


@pytest.fixture
def recorder() -> OpenSearchRecorder:
    return OpenSearchRecorder()


def backend(recorder: OpenSearchRecorder) -> OpenSearch:
    client = AsyncOpenSearch(hosts=["http://os.test:9200"], connection_class=recorder.connection_class())
    return OpenSearch(client, prefix="kt")


async def test_setup_puts_the_same_templates_as_elasticsearch_then_creates_indices(
    recorder: OpenSearchRecorder,
) -> None:
    exists: dict[str, Any] = {"error": {"type": "resource_already_exists_exception", "reason": "x"}, "status": 400}
    recorder.responders.append(lambda m, t, b: (400, exists) if m == "PUT" and t == "/kt-users" else None)
    search = backend(recorder)
    await search.setup()  # an index that exists already is fine
    await search.close()
    sent = [(m, t) for m, t, _ in recorder.requests]
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


async def test_other_setup_errors_raise(recorder: OpenSearchRecorder) -> None:
    bad: dict[str, Any] = {
        "error": {"type": "illegal_argument_exception", "reason": "unknown tokenizer"},
        "status": 400,
    }
    recorder.responders.append(lambda m, t, b: (400, bad) if t == "/kt-posts" else None)
    search = backend(recorder)
    with pytest.raises(Exception, match="illegal_argument_exception"):
        await search.setup()
    await search.close()


async def test_index_posts_bulk_creates_then_recounts_hashtags(recorder: OpenSearchRecorder) -> None:
    counts: dict[str, Any] = {"aggregations": {"tags": {"buckets": [{"key": "ಕನ್ನಡ", "doc_count": 2}]}}, "hits": {}}
    recorder.responders.append(lambda m, t, b: (200, counts) if t.startswith("/kt-posts/_search") else None)
    search = backend(recorder)
    doc = PostDoc(7, 3, "#ಕನ್ನಡ ಸುದ್ದಿ", "kn", ("ಕನ್ನಡ",), 1)
    await search.index_posts([doc])
    await search.close()
    (_, t1, bulk), (_, t2, count), (_, t3, tags) = recorder.requests
    assert t1 == t3 == "/_bulk?refresh=wait_for"
    assert bulk == [{"create": {"_index": "kt-posts", "_id": "7"}}, bodies.post_source(doc)]
    assert t2 == "/kt-posts/_search" and count == bodies.hashtag_count_body(["ಕನ್ನಡ"])
    assert tags[1]["doc"] == {"post_count": 2} and tags[1]["upsert"]["tag"] == "ಕನ್ನಡ"


async def test_delete_reads_hashtags_writes_tombstones_and_never_creates_tags(recorder: OpenSearchRecorder) -> None:
    docs: dict[str, Any] = {"docs": [{"_id": "7", "found": True, "_source": {"hashtag_keys": ["cricket"]}}]}
    recorder.responders.append(lambda m, t, b: (200, docs) if "_mget" in t else None)
    search = backend(recorder)
    await search.delete_posts([7, 7])
    await search.close()
    (_, t1, mget), (_, t2, tomb), _, (_, t4, tags) = recorder.requests
    assert t1 == "/kt-posts/_mget?_source=hashtag_keys" and mget == {"ids": ["7"]}
    assert t2 == t4 == "/_bulk?refresh=wait_for"
    assert tomb == [{"index": {"_index": "kt-posts", "_id": "7"}}, {"post_id": 7, "deleted": True}]
    assert tags == [{"update": {"_index": "kt-hashtags", "_id": "cricket"}}, {"doc": {"post_count": 0}}]


async def test_users_carry_an_external_version_and_redelivery_conflicts_are_fine(recorder: OpenSearchRecorder) -> None:
    def conflict(method: str, target: str, body: Any) -> tuple[int, dict[str, Any]] | None:
        if target.startswith("/_bulk"):
            items = [{"index": {"_id": "5", "status": 409, "error": {"type": "version_conflict_engine_exception"}}}]
            return 200, {"took": 1, "errors": True, "items": items}
        return None

    recorder.responders.append(conflict)
    search = backend(recorder)
    await search.index_users([UserDoc(5, "Asha_R", "आशा", (1700000000000, 2))])
    await search.close()
    _, _, bulk = recorder.requests[0]
    assert bulk[0] == {
        "index": {"_index": "kt-users", "_id": "5", "version": 1700000000000000002, "version_type": "external"}
    }


async def test_search_posts_sends_the_body_with_the_session_preference(recorder: OpenSearchRecorder) -> None:
    hits: dict[str, Any] = {"hits": {"hits": [{"_id": "9", "sort": [2.5, 9]}, {"_id": "4", "sort": [1.5, 4]}]}}
    recorder.responders.append(lambda m, t, b: (200, hits) if t.startswith("/kt-posts/_search") else None)
    search = backend(recorder)
    query = PostQuery(words=tuple(query_words("chennai")), limit=3, session="s1")
    got = await search.search_posts(query)
    await search.close()
    method, target, body = recorder.requests[0]
    assert method in ("GET", "POST") and target == f"/kt-posts/_search?preference={bodies.preference('s1')}"
    assert body == bodies.search_posts_body(query)
    assert [(h.id, h.score) for h in got] == [(9, 2.5), (4, 1.5)]
