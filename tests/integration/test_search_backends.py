"""One behavioural suite for every search backend (no hydration: ids and scores only).

Runs against PostgreSQL (the test database) always, against OpenSearch when
KOO_TEST_OPENSEARCH_URL points at a server with the analysis-icu plugin (the production
engine: Amazon OpenSearch Service; `KOO_TEST_OPENSEARCH_USERNAME`/`_PASSWORD` for basic
auth), and against Elasticsearch when KOO_TEST_ELASTICSEARCH_URL does. Neither server
runs on the build machines: those runs are skipped, and tests/unit/test_search_opensearch.py
and test_search_elastic.py check what each client sends instead.

Tests share the index with each other and with the running stack's indexer, so each one
writes posts under its own random author ids and random words.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from services.kit.db import create_engine
from services.kit.errors import InvalidArgument
from services.kit.text import extract_hashtags
from services.search.backends.elastic import ElasticSearch
from services.search.backends.opensearch import OpenSearch
from services.search.domain import IdPage, SearchDomain
from services.search.store import PostDoc, SearchBackend, UserDoc

BACKENDS = ["postgres", "opensearch", "elasticsearch"]


class Graph:
    """Blocks as the user service would report them (both directions)."""

    def __init__(self) -> None:
        self.blocks: dict[int, set[int]] = {}

    def block(self, a: int, b: int) -> None:
        self.blocks.setdefault(a, set()).add(b)
        self.blocks.setdefault(b, set()).add(a)

    async def blocked_either_way(self, user_id: int) -> frozenset[int]:
        return frozenset(self.blocks.get(user_id, set()))


@pytest_asyncio.fixture(scope="session", loop_scope="session", params=BACKENDS)
async def backend(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[SearchBackend]:
    if request.param == "postgres":
        from services.search.backends.postgres import PostgresSearch

        engine = create_engine(database_url, pool_size=2)
        yield PostgresSearch(engine)
        await engine.dispose()
        return
    prefix = f"koo-test-{uuid.uuid4().hex[:8]}"
    es: OpenSearch | ElasticSearch
    if request.param == "opensearch":
        url = os.environ.get("KOO_TEST_OPENSEARCH_URL", "")
        if not url:
            pytest.skip("KOO_TEST_OPENSEARCH_URL is not set (no OpenSearch server on this machine)")
        es = OpenSearch.connect(
            url,
            prefix=prefix,
            username=os.environ.get("KOO_TEST_OPENSEARCH_USERNAME"),
            password=os.environ.get("KOO_TEST_OPENSEARCH_PASSWORD"),
        )
    else:
        url = os.environ.get("KOO_TEST_ELASTICSEARCH_URL", "")
        if not url:
            pytest.skip("KOO_TEST_ELASTICSEARCH_URL is not set (no Elasticsearch server on this machine)")
        es = ElasticSearch.connect(url, prefix=prefix)
    await es.setup()
    yield es
    await es.drop()
    await es.close()


def new_id() -> int:
    return random.getrandbits(62) | 1


def nonce() -> str:
    """A word no other test writes (letters only, so it stays one word)."""
    return "zq" + "".join(random.choice("bcdfgjklmnprstvz") for _ in range(10))


def domain(backend: SearchBackend, graph: Graph | None = None) -> SearchDomain:
    return SearchDomain(backend, graph or Graph())


async def add(
    backend: SearchBackend,
    author: int,
    text: str,
    language: str = "hi",
    *,
    post_id: int = 0,
    hashtags: tuple[str, ...] = (),
) -> int:
    post_id = post_id or new_id()
    await backend.index_posts([PostDoc(post_id, author, text, language, hashtags, 1_700_000_000_000)])
    return post_id


async def posts(
    backend: SearchBackend,
    q: str,
    *,
    author: int = 0,
    language: str = "",
    size: int = 20,
    token: str = "",
    viewer: int | None = None,
    graph: Graph | None = None,
) -> IdPage:
    return await domain(backend, graph).search_posts(
        q=q, language=language, author_id=author, size=size, page_token=token, viewer_id=viewer
    )


async def ids(backend: SearchBackend, q: str, **kw: object) -> list[int]:
    return (await posts(backend, q, **kw)).ids  # type: ignore[arg-type]


# Matching across scripts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "queries"),
    [
        ("जय भारत, आज का दिन अच्छा है", "hi", ["भारत", "bharat", "bharath", "BHARAT"]),
        ("हिंदी दिवस की शुभकामनाएं", "hi", ["हिंदी", "hindi"]),
        ("मुंबई में बारिश", "hi", ["mumbai", "baarish"]),
        ("আমি বাংলা ভালোবাসি", "bn", ["বাংলা", "bangla"]),
        ("কলকাতা শহর", "bn", ["kolkata"]),
        ("சென்னை மழை", "ta", ["சென்னை", "chennai", "sennai"]),
        ("தமிழ் வாழ்க", "ta", ["tamil", "tamizh"]),
        ("முருகன் கோவில்", "ta", ["murugan", "kovil"]),
        ("#ಕನ್ನಡ ಸುದ್ದಿ", "kn", ["ಕನ್ನಡ", "kannada", "ಸುದ್ದಿ", "suddi"]),
        ("ಬೆಂಗಳೂರು ಟ್ರಾಫಿಕ್", "kn", ["bengaluru"]),
        ("Cricket match in Chennai today", "en", ["cricket", "CHENNAI", "today"]),
    ],
)
async def test_words_are_found_in_their_script_and_typed_in_latin(
    backend: SearchBackend, text: str, language: str, queries: list[str]
) -> None:
    author = new_id()
    post_id = await add(backend, author, text, language)
    for q in queries:
        assert await ids(backend, q, author=author) == [post_id], q


async def test_the_issue_done_when_kannada_finds_the_kannada_post(backend: SearchBackend) -> None:
    author = new_id()
    post_id = await add(backend, author, "#ಕನ್ನಡ ಸುದ್ದಿ", "kn", hashtags=("ಕನ್ನಡ",))
    assert post_id in await ids(backend, "kannada", author=author)
    tags = await domain(backend).search_hashtags(q="ಕನ್", limit=50)
    assert "ಕನ್ನಡ" in [t.tag for t in tags]


async def test_every_word_must_match(backend: SearchBackend) -> None:
    author = new_id()
    both = await add(backend, author, "भारत और क्रिकेट")
    await add(backend, author, "भारत और बारिश")
    assert await ids(backend, "bharat cricket", author=author) == [both]


async def test_unrelated_text_is_not_found(backend: SearchBackend) -> None:
    author = new_id()
    await add(backend, author, "चेन्नई की यात्रा")
    assert await ids(backend, "kannada", author=author) == []


# Ranking ------------------------------------------------------------------------------


async def test_more_relevant_first_then_newer(backend: SearchBackend) -> None:
    author = new_id()
    word = nonce()
    base = new_id() >> 2
    weak = await add(backend, author, f"{word} " + "लंबी पोस्ट में बहुत सारे दूसरे शब्द हैं " * 4, post_id=base + 1)
    strong = await add(backend, author, f"{word} {word} {word}", post_id=base + 2)
    older_tie = await add(backend, author, f"{word} भारत", post_id=base + 3)
    newer_tie = await add(backend, author, f"{word} भारत", post_id=base + 4)
    got = await ids(backend, word, author=author)
    assert got[0] == strong
    assert got.index(newer_tie) == got.index(older_tie) - 1  # same text: newer first
    assert got[-1] == weak


async def test_same_script_match_outranks_a_transliterated_one(backend: SearchBackend) -> None:
    author = new_id()
    native = await add(backend, author, "भारत")
    latin = await add(backend, author, "bharat", "en")
    assert await ids(backend, "भारत", author=author) == [native, latin]
    assert await ids(backend, "bharat", author=author) == [latin, native]


# Filters and blocks -------------------------------------------------------------------


async def test_filter_by_language_and_author(backend: SearchBackend) -> None:
    word = nonce()
    a, b = new_id(), new_id()
    hi = await add(backend, a, f"{word} नमस्ते", "hi")
    ta = await add(backend, a, f"{word} வணக்கம்", "ta")
    other = await add(backend, b, f"{word} नमस्ते", "hi")
    assert set(await ids(backend, word)) == {hi, ta, other}
    assert set(await ids(backend, word, language="hi")) == {hi, other}
    assert await ids(backend, word, author=a, language="ta") == [ta]
    assert set(await ids(backend, word, author=b)) == {other}


async def test_blocked_authors_are_left_out_both_ways(backend: SearchBackend) -> None:
    word = nonce()
    viewer, blocked, blocker, fine = new_id(), new_id(), new_id(), new_id()
    graph = Graph()
    graph.block(viewer, blocked)
    graph.block(blocker, viewer)
    await add(backend, blocked, word)
    await add(backend, blocker, word)
    visible = await add(backend, fine, word)
    assert await ids(backend, word, viewer=viewer, graph=graph) == [visible]
    assert len(await ids(backend, word)) == 3  # signed out: nobody's blocks apply


# Paging -------------------------------------------------------------------------------


async def test_pages_cover_every_hit_once_in_order(backend: SearchBackend) -> None:
    author = new_id()
    word = nonce()
    written = [await add(backend, author, f"{word} " + "भारत " * (i % 4)) for i in range(23)]
    full = await ids(backend, word, author=author, size=100)
    assert sorted(full) == sorted(written)
    seen: list[int] = []
    token = ""
    for _ in range(10):
        page = await posts(backend, word, author=author, size=10, token=token)
        seen += page.ids
        token = page.next_page_token
        if not token:
            break
    assert seen == full
    assert len(seen) == 23


async def test_a_token_belongs_to_its_search(backend: SearchBackend) -> None:
    author = new_id()
    word = nonce()
    for _ in range(3):
        await add(backend, author, word)
    page = await posts(backend, word, author=author, size=1)
    assert page.next_page_token
    with pytest.raises(InvalidArgument) as info:
        await posts(backend, "other words", author=author, size=1, token=page.next_page_token)
    assert "page_token" in info.value.violations
    with pytest.raises(InvalidArgument):
        await posts(backend, word, author=author, size=1, token="not-a-token")


# Query text is data -------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "' OR 1=1 --",
        "'; DROP TABLE koo_search.posts; --",
        "title:foo AND *",
        'he said "hi" \\ C:\\temp\\x',
        "%_% LIKE '%'",
        "!(a|b) & c:* <-> d",
    ],
)
async def test_hostile_queries_are_searched_literally(backend: SearchBackend, hostile: str) -> None:
    author = new_id()
    target = await add(backend, author, f"quoted {hostile}", "en")
    bystander = await add(backend, author, "something else entirely", "en")
    got = await ids(backend, hostile, author=author)
    assert bystander not in got
    assert got in ([target], [])  # words of the text find it; pure punctuation finds nothing
    assert await ids(backend, "something", author=author) == [bystander]  # the index is intact


async def test_punctuation_only_query_finds_nothing_without_error(backend: SearchBackend) -> None:
    assert (await posts(backend, "'\"\\ ; -- *")).ids == []


# Idempotency and deletion -------------------------------------------------------------


async def test_redelivered_post_is_indexed_once(backend: SearchBackend) -> None:
    author = new_id()
    tag = "dup" + nonce()
    doc = PostDoc(new_id(), author, f"भारत #{tag}", "hi", (tag,), 1)
    for _ in range(3):
        await backend.index_posts([doc, doc])
    assert await ids(backend, "bharat", author=author) == [doc.post_id]
    tags = await domain(backend).search_hashtags(q=tag, limit=10)
    assert [(t.tag, t.post_count) for t in tags] == [(tag, 1)]


async def test_deleted_post_is_gone_and_stays_gone(backend: SearchBackend) -> None:
    author = new_id()
    tag = "gone" + nonce()
    doc = PostDoc(new_id(), author, f"नमस्ते #{tag}", "hi", (tag,), 1)
    await backend.index_posts([doc])
    await backend.delete_posts([doc.post_id])
    await backend.delete_posts([doc.post_id])  # redelivered delete
    await backend.index_posts([doc])  # a late, redelivered create
    assert await ids(backend, "namaste", author=author) == []
    assert await domain(backend).search_hashtags(q=tag, limit=10) == []


async def test_delete_before_create_keeps_the_post_out(backend: SearchBackend) -> None:
    author = new_id()
    doc = PostDoc(new_id(), author, "ಕನ್ನಡ", "kn", (), 1)
    await backend.delete_posts([doc.post_id])
    await backend.index_posts([doc])
    assert await ids(backend, "kannada", author=author) == []


# Hashtags -----------------------------------------------------------------------------


async def test_hashtags_by_prefix_with_counts_most_used_first(backend: SearchBackend) -> None:
    author = new_id()
    stem = nonce()
    big, small = f"{stem}big", f"{stem}bit"
    for i in range(3):
        await add(backend, author, f"#{big} {i}", "en", hashtags=(big,))
    await add(backend, author, f"#{small}", "en", hashtags=(small,))
    for q in (stem, f"#{stem}", f"#{stem.upper()}", f"  #{stem}bi"):
        got = await domain(backend).search_hashtags(q=q, limit=10)
        assert [(t.tag, t.post_count) for t in got] == [(big, 3), (small, 1)], q


async def test_latin_hashtags_are_one_tag_whatever_the_case(backend: SearchBackend) -> None:
    author = new_id()
    stem = nonce()
    await add(backend, author, f"#{stem.capitalize()}", "en", hashtags=(stem.capitalize(),))
    await add(backend, author, f"#{stem}", "en", hashtags=(stem,))
    got = await domain(backend).search_hashtags(q=stem.upper(), limit=10)
    assert [(t.tag, t.post_count) for t in got] == [(stem.capitalize(), 2)]  # first form seen


async def test_indic_hashtags_by_native_and_latin_prefix(backend: SearchBackend) -> None:
    author = new_id()
    await add(backend, author, "#ಕನ್ನಡ", "kn", hashtags=("ಕನ್ನಡ",))
    await add(backend, author, "#சென்னை", "ta", hashtags=("சென்னை",))
    await add(backend, author, "#भारत", "hi", hashtags=("भारत",))
    d = domain(backend)
    assert "ಕನ್ನಡ" in [t.tag for t in await d.search_hashtags(q="#ಕನ್", limit=50)]
    assert "ಕನ್ನಡ" in [t.tag for t in await d.search_hashtags(q="kann", limit=50)]
    assert "சென்னை" in [t.tag for t in await d.search_hashtags(q="chen", limit=50)]
    assert "भारत" in [t.tag for t in await d.search_hashtags(q="#bhar", limit=50)]
    assert "भारत" not in [t.tag for t in await d.search_hashtags(q="ಕನ್", limit=50)]


async def test_hashtags_with_joiners_are_whole_and_one_tag_in_either_encoding(backend: SearchBackend) -> None:
    """Malayalam `Kolkata` with ZWNJ, and `for Kerala` in old-style (ZWJ) and atomic chillu."""
    author = new_id()
    suffix = "".join(random.choice("കഗചജടഡതദപബ") for _ in range(4))
    zwnj_tag = f"കൊൽ\u200cക്കത്ത{suffix}"
    old, new = f"കേരളത്തിന്\u200d{suffix}", f"കേരളത്തിൻ{suffix}"
    texts = [f"യാത്ര #{zwnj_tag}", f"#{old} വേണ്ടി", f"#{new} വേണ്ടി"]
    made = []
    for text in texts:
        made.append(await add(backend, author, text, "ml", hashtags=tuple(extract_hashtags(text))))
    d = domain(backend)
    got = {t.tag: t.post_count for t in await d.search_hashtags(q=f"കൊൽക്കത്ത{suffix}", limit=50)}
    assert got == {zwnj_tag: 1}  # typed without the joiner, the whole tag (not `കൊൽ`)
    got = {t.tag: t.post_count for t in await d.search_hashtags(q=f"#കേരളത്തിൻ{suffix}", limit=50)}
    assert got == {old: 2}  # both encodings are one tag, shown as first written
    # The words are found typed without joiners, both encodings alike.
    assert await ids(backend, f"കൊൽക്കത്ത{suffix}", author=author) == [made[0]]
    assert sorted(await ids(backend, new, author=author)) == sorted(made[1:])


async def test_hashtag_prefix_metacharacters_are_literal(backend: SearchBackend) -> None:
    author = new_id()
    stem = nonce()
    await add(backend, author, f"#{stem}", "en", hashtags=(stem,))
    for q in ("%", "_", "\\", "%_", f"{stem[:3]}%", "'", "*"):
        got = await domain(backend).search_hashtags(q=q, limit=50)
        assert stem not in [t.tag for t in got], q


# Users --------------------------------------------------------------------------------


async def users(backend: SearchBackend, q: str, *, viewer: int | None = None, graph: Graph | None = None) -> list[int]:
    page = await domain(backend, graph).search_users(q=q, size=50, page_token="", viewer_id=viewer)
    return page.ids


async def test_users_by_handle_prefix_and_names_in_any_script(backend: SearchBackend) -> None:
    stem = nonce()
    asha = UserDoc(new_id(), f"{stem}_asha", "आशा वर्मा", (1, 0))
    murugan = UserDoc(new_id(), f"{stem}_mk", "முருகன் குமார்", (1, 0))
    kannada = UserDoc(new_id(), f"{stem}_kn", "ಕನ್ನಡ ಪ್ರೇಮಿ", (1, 0))
    await backend.index_users([asha, murugan, kannada])
    assert set(await users(backend, stem)) == {asha.user_id, murugan.user_id, kannada.user_id}
    assert (await users(backend, f"@{stem}_as".upper()))[0] == asha.user_id
    assert asha.user_id in await users(backend, "आशा")
    assert asha.user_id in await users(backend, "asha varma")
    assert murugan.user_id in await users(backend, "murugan")
    assert kannada.user_id in await users(backend, "kann")


async def test_exact_handle_first(backend: SearchBackend) -> None:
    stem = nonce()
    longer = UserDoc(new_id(), f"{stem}x", "Someone", (1, 0))
    exact = UserDoc(new_id(), stem, "Other", (1, 0))
    await backend.index_users([longer, exact])
    assert (await users(backend, stem))[:2] == [exact.user_id, longer.user_id]


async def test_user_updates_apply_in_stream_order_only(backend: SearchBackend) -> None:
    stem = nonce()
    uid = new_id()
    await backend.index_users([UserDoc(uid, f"{stem}_u", "रमेश", (100, 0))])
    await backend.index_users([UserDoc(uid, f"{stem}_u", "सुरेश", (100, 1))])
    await backend.index_users([UserDoc(uid, f"{stem}_u", "रमेश", (100, 0))])  # late redelivery
    assert uid in await users(backend, "suresh")
    assert uid not in await users(backend, "ramesh")


async def test_blocked_users_are_left_out(backend: SearchBackend) -> None:
    stem = nonce()
    viewer, hidden, shown = new_id(), new_id(), new_id()
    await backend.index_users([UserDoc(hidden, f"{stem}_a", "A", (1, 0)), UserDoc(shown, f"{stem}_b", "B", (1, 0))])
    graph = Graph()
    graph.block(hidden, viewer)
    assert await users(backend, stem, viewer=viewer, graph=graph) == [shown]


async def test_user_pages(backend: SearchBackend) -> None:
    stem = nonce()
    everyone = {new_id() for _ in range(7)}
    await backend.index_users([UserDoc(uid, f"{stem}{i}", "नाम", (1, 0)) for i, uid in enumerate(everyone)])
    d = domain(backend)
    seen: list[int] = []
    token = ""
    while True:
        page = await d.search_users(q=stem, size=3, page_token=token, viewer_id=None)
        seen += page.ids
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(everyone)


async def test_postgres_ranks_only_the_newest_matches_of_a_common_word(database_url: str) -> None:
    from services.search.backends.postgres import PostgresSearch

    engine = create_engine(database_url, pool_size=1)
    try:
        narrow = PostgresSearch(engine, rank_window=3)
        author = new_id()
        word = nonce()
        base = new_id() >> 2
        strongest_but_oldest = await add(narrow, author, f"{word} {word} {word} {word}", post_id=base)
        newest = [await add(narrow, author, f"{word} भारत", post_id=base + i) for i in range(1, 6)]
        got = await ids(narrow, word, author=author)
        assert strongest_but_oldest not in got
        assert got == newest[::-1][:3]
    finally:
        await engine.dispose()
