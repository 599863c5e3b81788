"""PostgreSQL full-text search (schema koo_search): the default backend.

A post's `document` is `to_tsvector('simple', text)` (weight A: 'simple' keeps Indic
words whole and only lower-cases) joined with the phonetic keys of its words (weight B,
built in Python, see transliterate.py) and those of their stems (weight C, stems.py), so
`bharat` meets `भारत` through the key `barat`, `chennai` meets `சென்னையில்` through its
stem, and a same-script match ranks above a key match, which ranks above a stem match.

Queries are built from words we tokenized ourselves: each word is
`to_tsquery('simple', '<word>') || '<key1>' | '<key2>'` (bound parameters, the word holding
only letters, marks and digits), the words joined with AND, like plainto_tsquery.
Nothing the user typed is ever parsed as query syntax or SQL.

Ranking: `ts_rank` (normalized by document length) over the newest `rank_window`
matches (KOO_SEARCH_RANK_WINDOW, default 2,000), newer post (higher Snowflake id) first
among equals; pages continue from the last (rank, id) (keyset, no OFFSET). The window
bounds the ranking cost of common words; finding the matches still reads each one once,
so past a few million posts a word in a tenth of them wants the Elasticsearch backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.search.analysis import (
    QueryWord,
    document_keys,
    document_terms,
    hashtag_key,
    hashtag_phonetics,
    normalize,
)
from services.search.store import Cursor, HashtagHit, HashtagQuery, Hit, PostDoc, PostQuery, UserDoc, UserQuery

SCHEMA = "koo_search"
# How many of the newest matches a post search ranks (see search_posts).
DEFAULT_RANK_WINDOW = 2000
# ts_rank normalization 1: divide by 1 + log(document length), so a short post that is
# about the word beats a long one that mentions it.
_RANK_NORMALIZATION = 1


def _quote_lexeme(lexeme: str) -> str:
    """A lexeme in tsvector/tsquery input syntax (quotes and backslashes escaped)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def keys_tsvector(keys: Sequence[str], stem_keys: Sequence[str] = ()) -> str:
    """tsvector input for phonetic keys, weight B, and stem keys, weight C (ranked below
    the word itself; position 1: keys carry no order)."""
    return " ".join([*(f"{_quote_lexeme(k)}:1B" for k in keys), *(f"{_quote_lexeme(k)}:1C" for k in stem_keys)])


def word_tsquery(word: QueryWord, *, prefix: bool) -> tuple[str, str]:
    """(native part for to_tsquery('simple', ...), key part cast to tsquery) of one word."""
    star = ":*" if prefix else ""
    native = _quote_lexeme(word.text) + star
    keys = " | ".join(_quote_lexeme(k) + star for k in word.keys)
    return native, keys


def tsquery_sql(words: Sequence[QueryWord], *, prefix: bool, params: dict[str, Any], keys_only: bool = False) -> str:
    """SQL for the query's tsquery; fills `params`. Its shape depends only on word count.

    `keys_only`: match on phonetic keys alone where a word has them. A document holding
    a word always holds that word's keys (and a query word's keys include them), so the
    matches are the same; but the planner, taking the word and its key for independent,
    would count them twice and pick a bad plan. Ranking uses the full query.
    """
    groups = []
    for i, word in enumerate(words):
        native, keys = word_tsquery(word, prefix=prefix)
        params[f"w{i}"] = native
        part = f"to_tsquery('simple', :w{i})"
        if keys:
            params[f"k{i}"] = keys
            part = f"CAST(:k{i} AS tsquery)" if keys_only else f"({part} || CAST(:k{i} AS tsquery))"
        groups.append(part)
    return " && ".join(groups) if groups else "CAST('' AS tsquery)"


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching strings that start with `prefix` taken literally."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _keyset(after: Cursor | None, *, score: str, id_col: str, params: dict[str, Any]) -> str:
    if after is None:
        return ""
    params["after_score"], params["after_id"] = after.score, after.id
    return (
        f" AND ({score} < CAST(:after_score AS real)"
        f" OR ({score} = CAST(:after_score AS real) AND {id_col} < :after_id))"
    )


class PostgresSearch:
    """SearchBackend over the service's own PostgreSQL schema."""

    def __init__(
        self, engine: AsyncEngine, *, rank_window: int = DEFAULT_RANK_WINDOW, inflection: str = "stems"
    ) -> None:
        """`inflection`: how inflected words are found, `stems` (what runs: stem keys
        indexed, stems.py) or `prefix` (no stem keys; query words and keys matched as
        prefixes), the alternative tests/quality/search_quality.py measures against it."""
        self.engine = engine
        self.rank_window = rank_window
        self.key_prefix = inflection == "prefix"

    async def close(self) -> None:
        """The engine belongs to the process resources, which close it."""

    # Writing -------------------------------------------------------------------------

    async def index_posts(self, posts: Sequence[PostDoc]) -> None:
        posts = list({p.post_id: p for p in posts}.values())
        if not posts:
            return
        async with self.engine.begin() as db:
            inserted = await self._insert_posts(db, posts)
            if inserted:
                await self._count_hashtags(db, [p for p in posts if p.post_id in inserted])

    async def _insert_posts(self, db: AsyncConnection, posts: list[PostDoc]) -> set[int]:
        rows = await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.posts (post_id, author_id, language, hashtags, created_at_ms, document) "
                "SELECT t.post_id, t.author_id, t.language, "
                "ARRAY(SELECT jsonb_array_elements_text(t.tags)), t.created_at_ms, "
                "setweight(to_tsvector('simple', t.body), 'A') || CAST(t.keys AS tsvector) "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:authors AS bigint[]), CAST(:langs AS text[]), "
                "CAST(:bodies AS text[]), CAST(:keys AS text[]), CAST(:tags AS jsonb[]), CAST(:ms AS bigint[])) "
                "AS t(post_id, author_id, language, body, keys, tags, created_at_ms) "
                # A tombstone (deleted post) or an earlier delivery already holds the id.
                "ON CONFLICT (post_id) DO NOTHING RETURNING post_id"
            ),
            {
                "ids": [p.post_id for p in posts],
                "authors": [p.author_id for p in posts],
                "langs": [p.language for p in posts],
                # Joiners folded as for queries ('simple' would split words at them).
                "bodies": [normalize(p.text) for p in posts],
                "keys": [_post_keys(p.text, stems=not self.key_prefix) for p in posts],
                "tags": [_json_list([hashtag_key(t) for t in dict.fromkeys(p.hashtags)]) for p in posts],
                "ms": [p.created_at_ms for p in posts],
            },
        )
        return {r.post_id for r in rows}

    async def _count_hashtags(self, db: AsyncConnection, posts: list[PostDoc]) -> None:
        first_form: dict[str, str] = {}
        uses: dict[str, int] = {}
        for post in posts:
            for tag in {hashtag_key(t): t for t in post.hashtags}.items():
                first_form.setdefault(tag[0], tag[1].lstrip("#"))
                uses[tag[0]] = uses.get(tag[0], 0) + 1
        if not uses:
            return
        keys = sorted(uses)  # one lock order for every indexer: no deadlocks
        phonetics = [hashtag_phonetics(first_form[k]) for k in keys]
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.hashtags (tag_key, tag, phonetic, phonetic_coarse, post_count) "
                "SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:tags AS text[]), CAST(:fine AS text[]), "
                "CAST(:coarse AS text[]), CAST(:n AS bigint[])) "
                "ON CONFLICT (tag_key) DO UPDATE SET post_count = hashtags.post_count + EXCLUDED.post_count"
            ),
            {
                "keys": keys,
                "tags": [first_form[k] for k in keys],
                "fine": [p.fine for p in phonetics],
                "coarse": [p.coarse for p in phonetics],
                "n": [uses[k] for k in keys],
            },
        )

    async def known_posts(self, post_ids: Sequence[int]) -> set[int]:
        """Which of these ids the index holds (live or tombstoned): reconciliation skips them."""
        if not post_ids:
            return set()
        async with self.engine.connect() as db:
            rows = await db.execute(
                text(f"SELECT post_id FROM {SCHEMA}.posts WHERE post_id = ANY(:ids)"), {"ids": list(post_ids)}
            )
            return {int(row.post_id) for row in rows}

    async def delete_posts(self, post_ids: Sequence[int]) -> None:
        ids = sorted(set(post_ids))
        if not ids:
            return
        async with self.engine.begin() as db:
            await db.execute(
                text(
                    f"WITH gone AS (UPDATE {SCHEMA}.posts SET deleted = true, document = NULL "
                    "WHERE post_id = ANY(:ids) AND NOT deleted RETURNING hashtags), "
                    "uses AS (SELECT tag, count(*) AS n FROM gone, unnest(gone.hashtags) AS tag GROUP BY tag) "
                    f"UPDATE {SCHEMA}.hashtags h SET post_count = GREATEST(h.post_count - uses.n, 0) "
                    "FROM uses WHERE h.tag_key = uses.tag"
                ),
                {"ids": ids},
            )
            # Never-seen posts get a tombstone too (their create may still be on its way).
            await db.execute(
                text(
                    f"INSERT INTO {SCHEMA}.posts (post_id, deleted) SELECT unnest(CAST(:ids AS bigint[])), true "
                    "ON CONFLICT (post_id) DO NOTHING"
                ),
                {"ids": ids},
            )

    async def index_users(self, users: Sequence[UserDoc]) -> None:
        latest: dict[int, UserDoc] = {}
        for user in users:
            if user.user_id not in latest or latest[user.user_id].version < user.version:
                latest[user.user_id] = user
        if not latest:
            return
        docs = sorted(latest.values(), key=lambda u: u.user_id)
        async with self.engine.begin() as db:
            await db.execute(
                text(
                    f"INSERT INTO {SCHEMA}.users (user_id, handle_lower, display_name, document, event_ms, event_seq) "
                    "SELECT t.user_id, lower(t.handle), t.display_name, "
                    "setweight(to_tsvector('simple', t.display_name), 'A') || CAST(t.keys AS tsvector), t.ms, t.seq "
                    "FROM unnest(CAST(:ids AS bigint[]), CAST(:handles AS text[]), CAST(:names AS text[]), "
                    "CAST(:keys AS text[]), CAST(:ms AS bigint[]), CAST(:seq AS bigint[])) "
                    "AS t(user_id, handle, display_name, keys, ms, seq) "
                    "ON CONFLICT (user_id) DO UPDATE SET handle_lower = EXCLUDED.handle_lower, "
                    "display_name = EXCLUDED.display_name, document = EXCLUDED.document, "
                    "event_ms = EXCLUDED.event_ms, event_seq = EXCLUDED.event_seq "
                    f"WHERE ({SCHEMA}.users.event_ms, {SCHEMA}.users.event_seq) < (EXCLUDED.event_ms, EXCLUDED.event_seq)"
                ),
                {
                    "ids": [u.user_id for u in docs],
                    "handles": [u.handle for u in docs],
                    "names": [normalize(u.display_name) for u in docs],
                    # Names are matched by prefix: keys keep their final `a` (`ram` prefixes `rama`).
                    "keys": [keys_tsvector(document_keys(u.display_name, drop_final_a=False)) for u in docs],
                    "ms": [u.version[0] for u in docs],
                    "seq": [u.version[1] for u in docs],
                },
            )

    # Reading -------------------------------------------------------------------------

    async def search_posts(self, query: PostQuery) -> list[Hit]:
        if not query.words:
            return []
        params: dict[str, Any] = {"n": query.limit, "norm": _RANK_NORMALIZATION}
        tsq = tsquery_sql(query.words, prefix=self.key_prefix, params=params)
        filters = ""
        if query.language:
            filters += " AND p.language = :lang"
            params["lang"] = query.language
        if query.author_id:
            filters += " AND p.author_id = :author"
            params["author"] = query.author_id
        if query.exclude_author_ids:
            filters += " AND NOT (p.author_id = ANY(:excluded))"
            params["excluded"] = sorted(query.exclude_author_ids)
        # Relevance is ranked over the newest `rank_window` matches, not all of them:
        # ts_rank reads and scores every candidate, so a word in 10% of a million posts
        # would cost 100k rank computations per page. Candidates come from the GIN index
        # (a bitmap heap scan reads each match once, taking its id and document), the
        # newest `rank_window` are kept (a bounded top-N sort), and only those are ranked.
        # The plan is pinned on purpose: left alone, the planner walks the primary key
        # backwards for any word it deems common, and reads most of the table for words
        # in 1-5% of posts (measured 5-10x slower than the bitmap there; see
        # docs/performance.md). A search thus reaches at most `rank_window` posts, the
        # most recent ones.
        params["window"] = self.rank_window
        match = tsquery_sql(query.words, prefix=self.key_prefix, params=params, keys_only=True)
        score = f"ts_rank(c.document, {tsq}, :norm)"
        keyset = _keyset(query.after, score=score, id_col="c.post_id", params=params)
        async with self.engine.begin() as db:
            await db.execute(text("SET LOCAL enable_seqscan = off"))
            rows = await db.execute(
                text(
                    f"SELECT c.post_id AS id, {score} AS score FROM ("
                    f"SELECT p.post_id, p.document FROM {SCHEMA}.posts p "
                    f"WHERE NOT p.deleted AND p.document @@ ({match}){filters} "
                    # `+ 0`: no ordered walk of the primary key (see above)
                    "ORDER BY p.post_id + 0 DESC LIMIT :window) c "
                    f"WHERE true{keyset} ORDER BY score DESC, c.post_id DESC LIMIT :n"
                ),
                params,
            )
            return [Hit(r.id, float(r.score)) for r in rows]

    async def search_users(self, query: UserQuery) -> list[Hit]:
        if not query.words and not query.handle:
            return []
        params: dict[str, Any] = {"n": query.limit, "norm": _RANK_NORMALIZATION}
        tsq = tsquery_sql(query.words, prefix=True, params=params)
        match = "u.document @@ q.q"
        boost = "0"
        if query.handle:
            params["handle"], params["handle_prefix"] = query.handle, _like_prefix(query.handle)
            prefix = "u.handle_lower LIKE :handle_prefix ESCAPE '\\'"
            match = f"({prefix} OR {match})"
            # An exact handle first, then handle prefixes, then display-name matches.
            boost = f"(CASE WHEN u.handle_lower = :handle THEN 4 WHEN {prefix} THEN 2 ELSE 0 END)"
        score = f"CAST({boost} + ts_rank(u.document, q.q, :norm) AS real)"
        filters = ""
        if query.exclude_user_ids:
            filters += " AND NOT (u.user_id = ANY(:excluded))"
            params["excluded"] = sorted(query.exclude_user_ids)
        filters += _keyset(query.after, score=score, id_col="u.user_id", params=params)
        async with self.engine.connect() as db:
            rows = await db.execute(
                text(
                    f"SELECT u.user_id AS id, {score} AS score FROM {SCHEMA}.users u, (SELECT {tsq} AS q) q "
                    f"WHERE {match}{filters} ORDER BY score DESC, u.user_id DESC LIMIT :n"
                ),
                params,
            )
            return [Hit(r.id, float(r.score)) for r in rows]

    async def search_hashtags(self, query: HashtagQuery) -> list[HashtagHit]:
        params: dict[str, Any] = {"n": query.limit, "p": _like_prefix(query.prefix)}
        match = ["h.tag_key LIKE :p ESCAPE '\\'"]
        if query.phonetic:
            params["fp"] = _like_prefix(query.phonetic)
            match.append("(h.phonetic <> '' AND h.phonetic LIKE :fp ESCAPE '\\')")
        if query.phonetic_coarse:
            params["cp"] = _like_prefix(query.phonetic_coarse)
            match.append("(h.phonetic_coarse <> '' AND h.phonetic_coarse LIKE :cp ESCAPE '\\')")
        async with self.engine.connect() as db:
            rows = await db.execute(
                text(
                    f"SELECT h.tag, h.post_count FROM {SCHEMA}.hashtags h "
                    f"WHERE h.post_count > 0 AND ({' OR '.join(match)}) "
                    "ORDER BY h.post_count DESC, h.tag_key LIMIT :n"
                ),
                params,
            )
            return [HashtagHit(r.tag, int(r.post_count)) for r in rows]


def _post_keys(text: str, *, stems: bool = True) -> str:
    terms = document_terms(text)
    return keys_tsvector(terms.keys, terms.stem_keys if stems else ())


def _json_list(items: list[str]) -> str:
    return json.dumps(items, ensure_ascii=False)
