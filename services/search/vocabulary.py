"""The words Koo's posts are written in, found again by how they sound in Latin letters.

Spelling rules alone cannot know that `bharat` is usually भारत and not भरत, or that
`vanakkam` is வணக்கம்: people's spelling is learnt from what they post. For every word in
an Indic script, each phonetic key of its Latin spellings (`transliterate.word_keys`, the
same keys search matches on) points at the word, with how many posts used it. A Latin
word typed in the compose box then finds the native words sharing its key, most used
first. The table lives in the search service's PostgreSQL schema whatever the search
backend; posts are counted once (`vocabulary_posts`), deletions leave the counts alone
(a word once used is still a word people write).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import regex
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.text import nfc, script_of
from services.search.transliterate import word_keys

SCHEMA = "koo_search"
_WORD = regex.compile(r"[\p{L}\p{M}\u200c\u200d]+")
MAX_WORD_CHARS = 40


def native_words(post_text: str) -> Counter[tuple[str, str]]:
    """(word, script) of the Indic-script words of one post, counted once each."""
    found: Counter[tuple[str, str]] = Counter()
    for word in set(_WORD.findall(nfc(post_text))):
        word = word.strip("\u200c\u200d")
        if not word or len(word) > MAX_WORD_CHARS:
            continue
        scripts = {script_of(ch) for ch in word} - {None}
        if len(scripts) != 1:
            continue
        script = scripts.pop()
        if script and script != "Latin":
            found[(word, script)] += 1
    return found


def vocabulary_rows(post_texts: Iterable[str]) -> list[dict[str, object]]:
    uses: Counter[tuple[str, str, str]] = Counter()
    for post_text in post_texts:
        for word, script in native_words(post_text):
            for key in word_keys(word, query=False):
                uses[(key, script, word)] += 1
    return [{"key": k, "script": s, "word": w, "uses": n} for (k, s, w), n in uses.items()]


async def record_posts(engine: AsyncEngine, posts: Sequence[tuple[int, str]]) -> None:
    """Count the words of (post_id, text) pairs not counted before, in one transaction."""
    if not posts:
        return
    async with engine.begin() as db:
        fresh = (
            await db.execute(
                text(
                    f"INSERT INTO {SCHEMA}.vocabulary_posts (post_id) SELECT unnest(CAST(:ids AS BIGINT[])) "
                    "ON CONFLICT DO NOTHING RETURNING post_id"
                ),
                {"ids": [post_id for post_id, _ in posts]},
            )
        ).scalars()
        new_ids = set(fresh)
        rows = vocabulary_rows(t for post_id, t in posts if post_id in new_ids)
        if rows:
            # Sorted: concurrent indexers then lock rows in the same order (no deadlock).
            rows.sort(key=lambda r: (str(r["key"]), str(r["script"]), str(r["word"])))
            await db.execute(
                text(
                    f"INSERT INTO {SCHEMA}.vocabulary (key, script, word, uses) "
                    "VALUES (:key, :script, :word, :uses) "
                    f"ON CONFLICT (key, script, word) DO UPDATE SET uses = {SCHEMA}.vocabulary.uses + EXCLUDED.uses"
                ),
                rows,
            )


async def words_for(engine: AsyncEngine, *, keys: Iterable[str], script: str, limit: int) -> list[str]:
    """Native words in `script` sharing one of `keys`, most used first."""
    key_list = sorted(set(keys))
    if not key_list or limit <= 0:
        return []
    async with engine.connect() as db:
        rows = await db.execute(
            text(
                f"SELECT word, max(uses) AS uses FROM {SCHEMA}.vocabulary "
                "WHERE key = ANY(CAST(:keys AS TEXT[])) AND script = :script "
                "GROUP BY word ORDER BY uses DESC, word LIMIT :limit"
            ),
            {"keys": key_list, "script": script, "limit": limit},
        )
        return [r.word for r in rows]
