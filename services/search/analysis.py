"""Text -> search terms, the same way for what is indexed and for what is asked.

Words are runs of letters, combining marks and digits (`\\p{L}\\p{M}\\p{N}`; Python's
`\\w` would cut `भारत` after `भ`). Query text is only ever split into such words: quotes,
operators, `OR 1=1`, `title:foo`, `*` and backslashes never reach a query parser.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from services.kit.text import fold_joiners, script_of
from services.kit.text import hashtag_key as hashtag_key
from services.search.exonyms import exonym_spellings
from services.search.stems import stems
from services.search.transliterate import COARSE_PREFIX, is_latin, is_tamil, phonetic_key, romanize, word_keys

_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
# Bounds the work one query can ask for (each word is one OR-group in the index query).
MAX_QUERY_WORDS = 12


def normalize(text: str) -> str:
    """NFC with the zero-width joiners folded (see services.kit.text.fold_joiners): they
    are a rendering hint, absent from typed queries."""
    return fold_joiners(text)


def words(text: str) -> list[str]:
    """Lower-cased words of `text`, in order."""
    return [w.lower() for w in _WORD.findall(normalize(text))]


def _script_runs(word: str) -> list[str]:
    """`abcभारत` -> [`abc`, `भारत`]: each run is transliterated by its own script.

    Digits and marks carry no script of their own and stay with the run they follow.
    """
    runs: list[str] = []
    current = ""
    script: str | None = None
    for ch in word:
        s = script_of(ch)
        if s is not None and script is not None and s != script:
            runs.append(current)
            current = ""
        if s is not None:
            script = s
        current += ch
    if current:
        runs.append(current)
    return runs


def _keys(word: str, *, query: bool, drop_final_a: bool) -> frozenset[str]:
    out: set[str] = set()
    for run in _script_runs(word):
        out |= word_keys(run, query=query, drop_final_a=drop_final_a)
    return frozenset(out)


def _stem_keys(word: str) -> frozenset[str]:
    """Keys of the word's stems (case endings off, see stems.py): `சென்னையில்` -> `~cenai`."""
    out: set[str] = set()
    for run in _script_runs(word):
        for stem in stems(run):
            out |= word_keys(stem, query=False)
    return frozenset(out)


def _latin_variants(word: str) -> set[str]:
    """Other spellings of a Latin query word: its speakers' name for an English one
    (`delhi` -> `dilli`), and `u` typed for the short `a` (`punjab` -> `panjab`): each
    `u` alone and all of them (at most three `u`s are tried one by one)."""
    variants: set[str] = set()
    positions = [i for i, ch in enumerate(word) if ch == "u"]
    if positions:
        variants.add(word.replace("u", "a"))
        for i in positions[:3]:
            variants.add(word[:i] + "a" + word[i + 1 :])
    for spelling in (word, *variants):
        variants.update(exonym_spellings(spelling))
    return variants


@dataclass(frozen=True, slots=True)
class DocumentTerms:
    """What the index stores for a text besides its words: their phonetic keys, and the
    keys of their stems (weaker: a stem match ranks below a word match)."""

    keys: list[str]
    stem_keys: list[str]


def document_terms(text: str, *, drop_final_a: bool = True) -> DocumentTerms:
    keys: set[str] = set()
    stem_keys: set[str] = set()
    for word in dict.fromkeys(words(text)):
        keys |= _keys(word, query=False, drop_final_a=drop_final_a)
        stem_keys |= _stem_keys(word)
    return DocumentTerms(sorted(keys), sorted(stem_keys - keys))


def document_keys(text: str, *, drop_final_a: bool = True) -> list[str]:
    """Phonetic keys of every word of `text`, sorted and unique."""
    return document_terms(text, drop_final_a=drop_final_a).keys


@dataclass(frozen=True, slots=True)
class QueryWord:
    """One word of a query: matches its own text or any of its phonetic keys (a post
    holding the key of the word or of one of its stems)."""

    text: str
    keys: tuple[str, ...]


def query_words(q: str, *, drop_final_a: bool = True) -> list[QueryWord]:
    """The words of a query (duplicates removed, at most MAX_QUERY_WORDS)."""
    unique = list(dict.fromkeys(words(q)))[:MAX_QUERY_WORDS]
    out = []
    for i, w in enumerate(unique):
        keys = set(_keys(w, query=True, drop_final_a=drop_final_a))
        if is_latin(w):
            for variant in _latin_variants(w):
                keys |= _keys(variant, query=True, drop_final_a=drop_final_a)
            # Two Latin words may be one word in Indic script (`sri lanka`, श्रीलंका):
            # both words also match the keys of the two joined.
            for pair in (unique[i - 1 : i + 1] if i else [], unique[i : i + 2]):
                if len(pair) == 2 and all(map(is_latin, pair)):
                    joined = "".join(pair)
                    keys |= _keys(joined, query=True, drop_final_a=drop_final_a)
                    for variant in _latin_variants(joined):
                        keys |= _keys(variant, query=True, drop_final_a=drop_final_a)
        else:
            keys |= _stem_keys(w)  # an inflected query word finds the bare word too
        out.append(QueryWord(w, tuple(sorted(keys))))
    return out


@dataclass(frozen=True, slots=True)
class HashtagPhonetics:
    """Prefix-matchable keys of a hashtag (final `a` kept so `kann` prefixes `kanada`)."""

    fine: str
    coarse: str


def hashtag_phonetics(tag: str) -> HashtagPhonetics:
    """Keys a Latin query prefix can meet: the plain key, or the coarse one for Tamil."""
    runs = [r for r in _script_runs(hashtag_key(tag)) if _WORD.fullmatch(r)]
    fine: list[str] = []
    coarse: list[str] = []
    for run in runs:
        spelling = romanize(run)[0]  # the full spelling (schwas kept): best for prefixes
        if is_tamil(run):
            coarse.append(phonetic_key(spelling, coarse=True, drop_final_a=False).removeprefix(COARSE_PREFIX))
        else:
            fine.append(phonetic_key(spelling, drop_final_a=False))
    return HashtagPhonetics(
        fine="".join(fine) if fine else "",
        coarse=COARSE_PREFIX + "".join(coarse) if coarse else "",
    )


def query_phonetics(prefix: str) -> HashtagPhonetics | None:
    """Keys of a Latin hashtag query prefix, or None when it is not in Latin letters.

    A prefix with anything but letters and digits cannot start a hashtag: no keys.
    """
    if not _WORD.fullmatch(prefix) or not is_latin(prefix):
        return None
    return HashtagPhonetics(
        fine=phonetic_key(prefix, drop_final_a=False),
        coarse=phonetic_key(prefix, coarse=True, drop_final_a=False),
    )
