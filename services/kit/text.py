"""Text rules for India's languages: NFC, grapheme-cluster length, hashtags and mentions.

Python's `re` `\\w` stops at combining marks (vowel signs, viramas), so `#भारत` would give
`#भ`; the `regex` module with `\\p{L}\\p{M}\\p{N}` keeps words whole.
"""

from __future__ import annotations

import unicodedata

import regex

LANGUAGES: frozenset[str] = frozenset({"as", "bn", "en", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta", "te"})

_WORD = r"[\p{L}\p{M}\p{N}_]"
# A hashtag starts after a non-word character (or the start) and must hold a letter.
_HASHTAG = regex.compile(rf"(?<!{_WORD})#({_WORD}*\p{{L}}{_WORD}*)")
# Mentions are handles (a-z 0-9 _), matched case-insensitively, not inside emails.
_MENTION = regex.compile(r"(?<![\p{L}\p{M}\p{N}_@.])@([A-Za-z0-9_]{3,30})(?![A-Za-z0-9_])")
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


def extract_hashtags(text: str) -> list[str]:
    """Hashtags without `#`, in order of first use, duplicates (case-folded) removed."""
    seen: set[str] = set()
    tags: list[str] = []
    for match in _HASHTAG.finditer(nfc(text)):
        tag = match.group(1)
        if grapheme_length(tag) > MAX_HASHTAG_GRAPHEMES:
            continue
        key = tag.casefold()
        if key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


def extract_mentions(text: str) -> list[str]:
    """Mentioned handles, lower-cased, without `@`, duplicates removed."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
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
