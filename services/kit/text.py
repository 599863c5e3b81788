"""Text rules for India's languages: NFC, grapheme-cluster length, hashtags and mentions.

Python's `re` `\\w` stops at combining marks (vowel signs, viramas), so `#भारत` would give
`#भ`; the `regex` module with `\\p{L}\\p{M}\\p{N}` keeps words whole.
"""

from __future__ import annotations

import unicodedata

import regex

LANGUAGES: frozenset[str] = frozenset({"as", "bn", "en", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta", "te"})

_WORD = r"[\p{L}\p{M}\p{N}_]"
# ZWNJ (U+200C) and ZWJ (U+200D) are part of Indic spelling inside a word: Malayalam
# old-style chillus (ന്‍), Bengali khanda-ta (ত্‍), Marathi eyelash ra (र्‍), half forms
# kept apart in Hindi, Kannada, Telugu words. As in twitter-text they count as hashtag
# characters between two word characters, never first (`#\u200cx` is no tag) and last
# only as the ZWJ that completes a virama + ZWJ letter (a chillu or khanda-ta written the
# old way at the end of a word: `#കേരളത്തിന്‍`); otherwise the tag stops before it.
_JOINER = "[\u200c\u200d]"
_JOINED_WORD = rf"{_WORD}+(?:{_JOINER}+{_WORD}+)*(?:(?<=\p{{ccc=9}})\u200d)?"
# A hashtag starts after a non-word character (or the start) and must hold a letter.
_HASHTAG = regex.compile(rf"(?<!{_WORD}|{_JOINER})#({_JOINED_WORD})")
_LETTER = regex.compile(r"\p{L}")
# Mentions are handles (a-z 0-9 _), matched case-insensitively, not inside emails. A
# joiner between handle characters is invisible and dropped (`@ra\u200dvi` is @ravi); a
# mention never starts or ends on one, and one glued to more letters by a joiner is a
# longer word, not a handle (`@ravi\u200dकुमार` mentions nobody).
_HANDLE_CHAR = "[A-Za-z0-9_]"
_MENTION = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}\p{{N}}_@.]|{_JOINER})@({_HANDLE_CHAR}+(?:{_JOINER}+{_HANDLE_CHAR}+)*)"
    rf"(?!{_HANDLE_CHAR}|{_JOINER}+{_WORD})"
)
_HANDLE = regex.compile(r"[A-Za-z0-9_]{3,30}")
_GRAPHEME = regex.compile(r"\X")
# Cc and Cf except the joiners Indic text needs (ZWJ/ZWNJ) and ordinary whitespace.
_ALLOWED_CONTROLS = frozenset("\n\t\r\u200c\u200d")

MAX_HASHTAG_GRAPHEMES = 100


class TextError(ValueError):
    """Text that breaks a rule; the message says which."""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def grapheme_length(text: str) -> int:
    """What a reader counts as characters: `नमस्ते दुनिया` is 7, not 13."""
    return len(_GRAPHEME.findall(text))


def check_clean(text: str) -> None:
    """Reject control characters, unpaired surrogates and noncharacters."""
    for ch in text:
        if ch in _ALLOWED_CONTROLS:
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc":
            raise TextError(f"contains the control character U+{ord(ch):04X}")
        if cat == "Cs":
            raise TextError("contains invalid UTF-8 (an unpaired surrogate)")
        if cat == "Co" or (0xFDD0 <= ord(ch) <= 0xFDEF) or (ord(ch) & 0xFFFE) == 0xFFFE:
            raise TextError(f"contains the noncharacter U+{ord(ch):04X}")


def clean_text(text: str, *, max_graphemes: int, allow_empty: bool = False) -> str:
    """NFC-normalize and check `text`; returns the normalized text or raises TextError."""
    check_clean(text)
    normalized = nfc(text).strip()
    length = grapheme_length(normalized)
    if length == 0 and not allow_empty:
        raise TextError("must not be empty")
    if length > max_graphemes:
        raise TextError(f"is {length} characters long; the limit is {max_graphemes}")
    return normalized


# Legacy spellings with ZWJ -> the atomic letters Unicode added later (same letter,
# two encodings): Malayalam chillus (consonant + virama + ZWJ) and Bengali khanda-ta.
_ATOMIC_FOR_ZWJ: dict[str, str] = {
    "\u0d23\u0d4d\u200d": "\u0d7a",  # ണ്‍ -> ൺ
    "\u0d28\u0d4d\u200d": "\u0d7b",  # ന്‍ -> ൻ
    "\u0d30\u0d4d\u200d": "\u0d7c",  # ര്‍ -> ർ
    "\u0d32\u0d4d\u200d": "\u0d7d",  # ല്‍ -> ൽ
    "\u0d33\u0d4d\u200d": "\u0d7e",  # ള്‍ -> ൾ
    "\u0d15\u0d4d\u200d": "\u0d7f",  # ക്‍ -> ൿ
    "\u09a4\u09cd\u200d": "\u09ce",  # ত্‍ -> ৎ
}
_ATOMIC = regex.compile("|".join(map(regex.escape, _ATOMIC_FOR_ZWJ)))
_DROP_JOINERS = str.maketrans({"\u200c": None, "\u200d": None})


def fold_joiners(text: str) -> str:
    """NFC `text` as typed on any keyboard: legacy ZWJ letters made atomic, joiners dropped.

    Joiners only change how a word is drawn (or pick between two encodings of a letter),
    so two spellings a reader cannot tell apart compare equal, and a query typed without
    joiners meets text written with them.
    """
    normalized = nfc(text)
    if "\u200c" not in normalized and "\u200d" not in normalized:
        return normalized
    return _ATOMIC.sub(lambda m: _ATOMIC_FOR_ZWJ[m.group(0)], normalized).translate(_DROP_JOINERS)


def joiner_mappings() -> dict[str, str]:
    """The legacy ZWJ sequences and their atomic letters (search engines' char filters use it)."""
    return dict(_ATOMIC_FOR_ZWJ)


def hashtag_key(tag: str) -> str:
    """What makes two hashtags the same, for search and trends alike: NFC, joiners
    folded, case-folded, without `#` (`#Cricket` = `#cricket`, `#ന്‍` = `#ൻ`)."""
    return fold_joiners(tag).lstrip("#").casefold()


def extract_hashtags(text: str) -> list[str]:
    """Hashtags without `#` as written (joiners kept), in order of first use, one per key."""
    seen: set[str] = set()
    tags: list[str] = []
    for match in _HASHTAG.finditer(nfc(text)):
        tag = match.group(1)
        if not _LETTER.search(tag) or grapheme_length(tag) > MAX_HASHTAG_GRAPHEMES:
            continue
        key = hashtag_key(tag)
        if key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


def extract_mentions(text: str) -> list[str]:
    """Mentioned handles, lower-cased, without `@`, duplicates removed."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        handle = match.group(1).translate(_DROP_JOINERS)
        if _HANDLE.fullmatch(handle):
            seen.setdefault(handle.lower(), None)
    return list(seen)


# Unicode script blocks for the languages Koo serves.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B00, 0x0B7F, "Oriya"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"),
    (0xA8E0, 0xA8FF, "Devanagari"),
)


def script_of(ch: str) -> str | None:
    """The script of one character among those Koo serves (Latin included), or None."""
    cp = ord(ch)
    for start, end, name in _SCRIPT_RANGES:
        if start <= cp <= end:
            return name
    if ch.isalpha() and cp < 0x250:
        return "Latin"
    return None


def dominant_script(text: str) -> str | None:
    """The script most letters of `text` are written in (hashtags and mentions included)."""
    counts: dict[str, int] = {}
    for ch in text:
        script = script_of(ch)
        if script:
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: kv[1])[0]
