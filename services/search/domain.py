"""Search rules: what a valid query is, who is left out, how pages continue. No gRPC.

Paging is keyset, never OFFSET: the page token holds the last hit's (score, id) and
a fingerprint of the search it belongs to. Scores depend only on the document and the
query (ts_rank uses no corpus statistics; Elasticsearch pages share shard copies), so
the next page starts exactly after the last hit seen, however deep the reader goes: no
hit is shown twice. (The PostgreSQL backend ranks the newest KOO_SEARCH_RANK_WINDOW
matches; posts arriving while someone pages can push the oldest candidates out.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import regex

from services.kit.errors import InvalidArgument
from services.kit.paging import decode_token, encode_token
from services.kit.text import TextError, check_clean, check_languages, grapheme_length
from services.search.analysis import QueryWord, hashtag_key, normalize, query_phonetics, query_words
from services.search.store import Cursor, HashtagHit, HashtagQuery, Hit, PostQuery, SearchBackend, UserQuery

MAX_QUERY_GRAPHEMES = 200
# Cheap bound checked before any Unicode work (a grapheme is rarely over 5 code points).
_MAX_QUERY_CODE_POINTS = 5 * MAX_QUERY_GRAPHEMES
DEFAULT_HASHTAG_LIMIT, MAX_HASHTAG_LIMIT = 10, 50
_HANDLE = regex.compile(r"@?([A-Za-z0-9_]{1,30})")


class SocialGraph(Protocol):
    async def blocked_either_way(self, user_id: int) -> frozenset[int]:
        """Users `user_id` blocked or is blocked by."""


@dataclass(frozen=True, slots=True)
class IdPage:
    ids: list[int]
    next_page_token: str


def clean_query(q: str) -> str:
    """The query NFC-normalized and trimmed; INVALID_ARGUMENT naming `q` when unusable."""
    if len(q) > _MAX_QUERY_CODE_POINTS:
        raise InvalidArgument("q", message=f"q is too long; the limit is {MAX_QUERY_GRAPHEMES} characters")
    try:
        check_clean(q)
    except TextError as exc:
        raise InvalidArgument("q", message=f"q {exc}") from None
    text = normalize(q).strip()
    if not text:
        raise InvalidArgument("q", message="q is required: the text to search for")
    length = grapheme_length(text)
    if length > MAX_QUERY_GRAPHEMES:
        raise InvalidArgument("q", message=f"q is {length} characters long; the limit is {MAX_QUERY_GRAPHEMES}")
    return text


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


def _cursor(token: str, *, kind: str, fingerprint: str) -> Cursor | None:
    cursor = decode_token(token, kind=kind)
    if cursor is None:
        return None
    try:
        if cursor["f"] != fingerprint:
            raise InvalidArgument("page_token", message="page_token belongs to another search")
        return Cursor(score=float(cursor["s"]), id=int(cursor["i"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidArgument("page_token", message="page_token is not a token this list issued") from None


def _page(hits: Sequence[Hit], *, size: int, kind: str, fingerprint: str) -> IdPage:
    """`hits` holds up to size + 1: one more than shown tells whether a next page exists."""
    shown = list(hits[:size])
    token = ""
    if len(hits) > size and shown:
        last = shown[-1]
        token = encode_token({"k": kind, "f": fingerprint, "s": last.score, "i": last.id})
    return IdPage([h.id for h in shown], token)


class SearchDomain:
    def __init__(self, backend: SearchBackend, graph: SocialGraph) -> None:
        self.backend = backend
        self.graph = graph

    async def _excluded(self, viewer_id: int | None) -> frozenset[int]:
        return await self.graph.blocked_either_way(viewer_id) if viewer_id else frozenset()

    async def search_posts(
        self, *, q: str, language: str, author_id: int, size: int, page_token: str, viewer_id: int | None
    ) -> IdPage:
        text = clean_query(q)
        if language:
            check_languages([language], field="language")
        if author_id < 0:
            raise InvalidArgument("author_id", message="author_id must be a user's id or 0")
        words: tuple[QueryWord, ...] = tuple(query_words(text))
        fingerprint = _fingerprint("posts", [w.text for w in words], language, author_id)
        after = _cursor(page_token, kind="search_posts", fingerprint=fingerprint)
        if not words:  # only punctuation: nothing can match it, and that is not an error
            return IdPage([], "")
        query = PostQuery(
            words=words,
            limit=size + 1,
            language=language,
            author_id=author_id,
            exclude_author_ids=await self._excluded(viewer_id),
            after=after,
            session=fingerprint,
        )
        hits = await self.backend.search_posts(query)
        return _page(hits, size=size, kind="search_posts", fingerprint=fingerprint)

    async def search_users(self, *, q: str, size: int, page_token: str, viewer_id: int | None) -> IdPage:
        text = clean_query(q)
        handle_match = _HANDLE.fullmatch(text)
        handle = handle_match.group(1).lower() if handle_match else ""
        # Names match word by word as prefixes: keys keep their final `a` (`ram` -> `rama`).
        words = tuple(query_words(text.lstrip("@"), drop_final_a=False))
        fingerprint = _fingerprint("users", [w.text for w in words], handle)
        after = _cursor(page_token, kind="search_users", fingerprint=fingerprint)
        if not words and not handle:
            return IdPage([], "")
        query = UserQuery(
            words=words,
            limit=size + 1,
            handle=handle,
            exclude_user_ids=await self._excluded(viewer_id),
            after=after,
            session=fingerprint,
        )
        hits = await self.backend.search_users(query)
        return _page(hits, size=size, kind="search_users", fingerprint=fingerprint)

    async def search_hashtags(self, *, q: str, limit: int) -> list[HashtagHit]:
        text = clean_query(q).lstrip("#").strip()
        if not text:
            raise InvalidArgument("q", message="q needs the start of a hashtag after `#`")
        if limit < 0:
            raise InvalidArgument("limit", message="limit must not be negative")
        limit = min(limit or DEFAULT_HASHTAG_LIMIT, MAX_HASHTAG_LIMIT)
        prefix = hashtag_key(text)
        phonetics = query_phonetics(prefix)
        return await self.backend.search_hashtags(
            HashtagQuery(
                prefix=prefix,
                limit=limit,
                phonetic=phonetics.fine if phonetics else "",
                phonetic_coarse=phonetics.coarse if phonetics else "",
            )
        )
