"""Request bodies for the Elasticsearch backend, as pure functions (tested as JSON).

Analysis (needs the analysis-icu plugin): text is NFKC-casefolded (`icu_normalizer`),
split by `icu_tokenizer` (dictionary-free Unicode word breaking that keeps Indic
syllables together), Indic-normalized (`indic_normalization`) and accent-folded by
`icu_folding` limited to non-Indic letters (folding would strip vowel signs and
viramas). Each language gets its own field (`text_hi`, `text_bn`, ...) with the built-in
analyzer where Elasticsearch has one (hindi, bengali, english) and a custom ICU chain
otherwise; a post fills only its own language's field.

Zero-width joiners: texts are sent with joiners already folded (`fold_joiners`, the rule
queries and hashtags follow); the analyzers also fold the legacy ZWJ letters themselves
(`koo_joiners`, from the same table) so a document written by other means agrees, and
`nfkc_cf` drops the joiners left (they are default-ignorable).

Queries never use `query_string`: every word goes into `multi_match`/`term`/`prefix`
clauses as a value, so `title:foo AND *` is searched as the words title, foo, and.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from services.kit.text import joiner_mappings
from services.search.analysis import (
    QueryWord,
    document_keys,
    document_terms,
    hashtag_key,
    hashtag_phonetics,
    normalize,
)
from services.search.store import Cursor, HashtagQuery, PostDoc, PostQuery, UserDoc, UserQuery

# Languages with a built-in Elasticsearch analyzer, and the rest with our ICU chain.
BUILTIN_ANALYZERS = {"hi": "hindi", "bn": "bengali", "en": "english"}
CUSTOM_LANGUAGES = ("as", "gu", "kn", "ml", "mr", "or", "pa", "ta", "te")
# Native-text matches count more than phonetic-key matches, which count more than matches
# of a stem's key (as weights A, B, C in PostgreSQL).
KEY_BOOST = 0.4
STEM_BOOST = 0.2


def index_names(prefix: str) -> dict[str, str]:
    return {kind: f"{prefix}-{kind}" for kind in ("posts", "users", "hashtags")}


def analysis_settings() -> dict[str, Any]:
    custom = {
        f"koo_{lang}": {
            "type": "custom",
            "tokenizer": "icu_tokenizer",
            "char_filter": ["koo_joiners", "koo_nfkc_cf"],
            "filter": ["indic_normalization", "koo_fold_latin"],
        }
        for lang in CUSTOM_LANGUAGES
    }
    return {
        "analysis": {
            "char_filter": {
                "koo_joiners": {
                    "type": "mapping",
                    "mappings": [f"{legacy} => {atomic}" for legacy, atomic in joiner_mappings().items()],
                },
                "koo_nfkc_cf": {"type": "icu_normalizer", "name": "nfkc_cf"},
            },
            "filter": {
                # Fold accents of Latin and other scripts, never the Indic blocks
                # (U+0900-U+0DFF): their vowel signs and viramas are letters of the word.
                "koo_fold_latin": {"type": "icu_folding", "unicode_set_filter": "[^\\u0900-\\u0DFF]"},
            },
            "analyzer": {
                "koo_text": {
                    "type": "custom",
                    "tokenizer": "icu_tokenizer",
                    "char_filter": ["koo_joiners", "koo_nfkc_cf"],
                    "filter": ["indic_normalization", "koo_fold_latin"],
                },
                **custom,
            },
            "normalizer": {"koo_lower": {"type": "custom", "filter": ["lowercase"]}},
        }
    }


def language_field(language: str) -> str | None:
    if language in BUILTIN_ANALYZERS or language in CUSTOM_LANGUAGES:
        return f"text_{language}"
    return None


def text_fields() -> list[str]:
    """Every text field a post query searches (native text in all its analyses)."""
    return ["text", *(f"text_{lang}" for lang in (*BUILTIN_ANALYZERS, *CUSTOM_LANGUAGES))]


def posts_mappings() -> dict[str, Any]:
    per_language = {
        f"text_{lang}": {"type": "text", "analyzer": BUILTIN_ANALYZERS.get(lang, f"koo_{lang}")}
        for lang in (*BUILTIN_ANALYZERS, *CUSTOM_LANGUAGES)
    }
    return {
        "dynamic": "strict",
        "properties": {
            "post_id": {"type": "long"},
            "author_id": {"type": "long"},
            "language": {"type": "keyword"},
            "created_at_ms": {"type": "date", "format": "epoch_millis"},
            "deleted": {"type": "boolean"},
            "text": {"type": "text", "analyzer": "koo_text"},
            **per_language,
            "keys": {"type": "keyword"},
            "stem_keys": {"type": "keyword"},
            "hashtag_keys": {"type": "keyword"},
            "hashtags": {"type": "keyword", "index": False},
        },
    }


def users_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "user_id": {"type": "long"},
            "handle_lower": {"type": "keyword"},
            "display_name": {"type": "text", "analyzer": "koo_text"},
            "name_keys": {"type": "keyword"},
        },
    }


def hashtags_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "tag_key": {"type": "keyword"},
            "tag": {"type": "keyword", "index": False},
            "phonetic": {"type": "keyword"},
            "phonetic_coarse": {"type": "keyword"},
            "post_count": {"type": "long"},
        },
    }


def component_template() -> dict[str, Any]:
    """Shared by the three index templates: the analysis chain."""
    return {"template": {"settings": analysis_settings()}}


def index_templates(prefix: str) -> dict[str, dict[str, Any]]:
    """Index template per index (name -> body of PUT _index_template/<name>)."""
    names = index_names(prefix)
    mappings = {"posts": posts_mappings(), "users": users_mappings(), "hashtags": hashtags_mappings()}
    return {
        names[kind]: {
            "index_patterns": [names[kind]],
            "composed_of": [f"{prefix}-analysis"],
            "priority": 200,
            "template": {"mappings": mappings[kind]},
            "_meta": {"owner": "koo-search"},
        }
        for kind in names
    }


# Documents ---------------------------------------------------------------------------


def post_source(post: PostDoc) -> dict[str, Any]:
    text = normalize(post.text)
    terms = document_terms(post.text)
    source: dict[str, Any] = {
        "post_id": post.post_id,
        "author_id": post.author_id,
        "language": post.language,
        "created_at_ms": post.created_at_ms,
        "deleted": False,
        "text": text,
        "keys": terms.keys,
        "stem_keys": terms.stem_keys,
        "hashtag_keys": list(dict.fromkeys(hashtag_key(t) for t in post.hashtags)),
        "hashtags": [t.lstrip("#") for t in post.hashtags],
    }
    field = language_field(post.language)
    if field:
        source[field] = text
    return source


def tombstone_source(post_id: int) -> dict[str, Any]:
    return {"post_id": post_id, "deleted": True}


def user_source(user: UserDoc) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "handle_lower": user.handle.lower(),
        "display_name": normalize(user.display_name),
        "name_keys": document_keys(user.display_name, drop_final_a=False),
    }


def user_version(user: UserDoc) -> int:
    """External version from the stream position (ms, seq): a lower one is refused (409)."""
    ms, seq = user.version
    return ms * 1_000_000 + min(seq, 999_999)


def post_actions(index: str, posts: Sequence[PostDoc]) -> list[dict[str, Any]]:
    """Bulk actions: create only (an existing doc or tombstone wins; 409s are expected)."""
    return [{"_op_type": "create", "_index": index, "_id": str(p.post_id), "_source": post_source(p)} for p in posts]


def tombstone_actions(index: str, post_ids: Sequence[int]) -> list[dict[str, Any]]:
    return [{"_op_type": "index", "_index": index, "_id": str(i), "_source": tombstone_source(i)} for i in post_ids]


def user_actions(index: str, users: Sequence[UserDoc]) -> list[dict[str, Any]]:
    return [
        {
            "_op_type": "index",
            "_index": index,
            "_id": str(u.user_id),
            "version": user_version(u),
            "version_type": "external",
            "_source": user_source(u),
        }
        for u in users
    ]


def hashtag_count_body(tag_keys: Sequence[str]) -> dict[str, Any]:
    """Live posts per hashtag key, recounted from the posts index (idempotent by design)."""
    keys = sorted(set(tag_keys))
    return {
        "size": 0,
        "query": {"bool": {"filter": [{"terms": {"hashtag_keys": keys}}, {"term": {"deleted": False}}]}},
        "aggs": {"tags": {"terms": {"field": "hashtag_keys", "include": keys, "size": max(len(keys), 1)}}},
    }


def hashtag_actions(index: str, counts: dict[str, int], first_forms: dict[str, str]) -> list[dict[str, Any]]:
    actions = []
    for key in sorted(counts):
        phon = hashtag_phonetics(first_forms.get(key, key))
        actions.append(
            {
                "_op_type": "update",
                "_index": index,
                "_id": key,
                "doc": {"post_count": counts[key]},
                # Created with the form first seen; later updates only move the count.
                "upsert": {
                    "tag_key": key,
                    "tag": first_forms.get(key, key),
                    "phonetic": phon.fine,
                    "phonetic_coarse": phon.coarse,
                    "post_count": counts[key],
                },
            }
        )
    return actions


# Queries -----------------------------------------------------------------------------


def _word_clause(word: QueryWord, fields: list[str]) -> dict[str, Any]:
    should: list[dict[str, Any]] = [{"multi_match": {"query": word.text, "fields": fields, "type": "best_fields"}}]
    if word.keys:
        should.append({"terms": {"keys": list(word.keys), "boost": KEY_BOOST}})
        should.append({"terms": {"stem_keys": list(word.keys), "boost": STEM_BOOST}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _search_after(after: Cursor | None) -> dict[str, Any]:
    return {"search_after": [after.score, after.id]} if after else {}


def search_posts_body(query: PostQuery) -> dict[str, Any]:
    fields = text_fields()
    filters: list[dict[str, Any]] = [{"term": {"deleted": False}}]
    if query.language:
        filters.append({"term": {"language": query.language}})
    if query.author_id:
        filters.append({"term": {"author_id": query.author_id}})
    bool_query: dict[str, Any] = {"must": [_word_clause(w, fields) for w in query.words], "filter": filters}
    if query.exclude_author_ids:
        bool_query["must_not"] = [{"terms": {"author_id": sorted(query.exclude_author_ids)}}]
    return {
        "query": {"bool": bool_query},
        "sort": [{"_score": "desc"}, {"post_id": "desc"}],
        "size": query.limit,
        "_source": False,
        "track_total_hits": False,
        **_search_after(query.after),
    }


def search_users_body(query: UserQuery) -> dict[str, Any]:
    should: list[dict[str, Any]] = []
    if query.handle:
        should.append({"term": {"handle_lower": {"value": query.handle, "boost": 4.0}}})
        should.append({"prefix": {"handle_lower": {"value": query.handle, "boost": 2.0}}})
    if query.words:
        per_word = []
        for word in query.words:
            options: list[dict[str, Any]] = [{"match_phrase_prefix": {"display_name": {"query": word.text}}}]
            options += [{"prefix": {"name_keys": {"value": k, "boost": KEY_BOOST}}} for k in word.keys]
            per_word.append({"bool": {"should": options, "minimum_should_match": 1}})
        should.append({"bool": {"must": per_word}})
    bool_query: dict[str, Any] = {"should": should, "minimum_should_match": 1}
    if query.exclude_user_ids:
        bool_query["must_not"] = [{"terms": {"user_id": sorted(query.exclude_user_ids)}}]
    return {
        "query": {"bool": bool_query},
        "sort": [{"_score": "desc"}, {"user_id": "desc"}],
        "size": query.limit,
        "_source": False,
        "track_total_hits": False,
        **_search_after(query.after),
    }


def search_hashtags_body(query: HashtagQuery) -> dict[str, Any]:
    should: list[dict[str, Any]] = [{"prefix": {"tag_key": {"value": query.prefix}}}]
    if query.phonetic:
        should.append({"prefix": {"phonetic": {"value": query.phonetic}}})
    if query.phonetic_coarse:
        should.append({"prefix": {"phonetic_coarse": {"value": query.phonetic_coarse}}})
    return {
        "query": {
            "bool": {"filter": [{"range": {"post_count": {"gt": 0}}}], "should": should, "minimum_should_match": 1}
        },
        "sort": [{"post_count": "desc"}, {"tag_key": "asc"}],
        "size": query.limit,
        "_source": ["tag", "post_count"],
        "track_total_hits": False,
    }


def preference(session: str) -> str | None:
    """Same shard copies for every page of one search (stable scores for search_after)."""
    return hashlib.sha256(session.encode()).hexdigest()[:16] if session else None
