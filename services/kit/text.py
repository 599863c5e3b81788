"""Text rules for India's languages: NFC, grapheme-cluster length, hashtags and mentions.

Python's `re` `\\w` stops at combining marks (vowel signs, viramas), so `#भारत` would give
`#भ`; the `regex` module with `\\p{L}\\p{M}\\p{N}` keeps words whole.

Size is bounded three ways, because a grapheme limit alone bounds nothing: one cluster can
hold any number of combining marks (`a` + 120,000 x U+0301 is one grapheme). Text is also
checked for characters a reader cannot see (bidi controls, zero-width and filler
characters), which impersonate and reorder; ZWJ/ZWNJ stay, Indic scripts need them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import regex

from services.kit.errors import InvalidArgument

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
# Invisible characters: format controls (bidi overrides and isolates, marks, zero-width
# space, tags, soft hyphen) and the default-ignorable fillers (U+3164, U+115F, ...).
# Variation selectors are default-ignorable too, but emoji need them.
_INVISIBLE = regex.compile(
    r"[\p{Cf}\p{Default_Ignorable_Code_Point}--[\u200c\u200d\ufe00-\ufe0f\U000e0100-\U000e01ef]]", regex.V1
)
# Tag characters are allowed only where they belong: in an emoji tag sequence (the flags
# of England, Scotland, Wales: U+1F3F4, tags, U+E007F).
_TAG_SEQUENCE = regex.compile(r"\U0001F3F4[\U000E0020-\U000E007E]{1,30}\U000E007F")
# Something a reader sees: a letter, digit, punctuation or symbol, other than the blank
# braille pattern (U+2800), which renders as nothing.
_VISIBLE = regex.compile(r"[\p{L}\p{N}\p{P}\p{S}--[\u2800]]", regex.V1)

# Bounds beside the grapheme limit. Indic clusters hold a few marks (स्त्री: 3, with
# GB9c conjuncts maybe 6); emoji ZWJ sequences up to ~10 code points.
MAX_MARKS_PER_CLUSTER = 8
MAX_CODE_POINTS_PER_CLUSTER = 32
# Whole-text budgets per allowed grapheme: generous for any real script or emoji use.
CODE_POINTS_PER_GRAPHEME = 8
BYTES_PER_GRAPHEME = 16

MAX_HASHTAG_GRAPHEMES = 100


class TextError(ValueError):
    """Text that breaks a rule; the message says which."""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def grapheme_length(text: str) -> int:
    """What a reader counts as characters: `नमस्ते दुनिया` is 7, not 13."""
    return len(_GRAPHEME.findall(text))


def check_clean(text: str) -> None:
    """Reject control characters, unpaired surrogates, noncharacters and invisible characters."""
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
    check_visible_characters(text)


def check_visible_characters(text: str) -> None:
    """Reject bidi controls and invisible characters (tags only inside emoji flags)."""
    found = _INVISIBLE.search(_TAG_SEQUENCE.sub("", text))
    if found is not None:
        cp = ord(found.group())
        raise TextError(f"contains the invisible or direction-changing character U+{cp:04X}")


def check_size(text: str, *, max_graphemes: int) -> int:
    """Bound `text` by graphemes, code points, bytes and marks per cluster; its grapheme length."""
    max_code_points = max_graphemes * CODE_POINTS_PER_GRAPHEME
    if len(text) > max_code_points:
        raise TextError(f"holds {len(text)} code points; the limit is {max_code_points}")
    size = len(text.encode("utf-8", "surrogatepass"))
    max_bytes = max_graphemes * BYTES_PER_GRAPHEME
    if size > max_bytes:
        raise TextError(f"is {size} bytes of UTF-8; the limit is {max_bytes}")
    clusters = _GRAPHEME.findall(text)
    for cluster in clusters:
        if len(cluster) > MAX_CODE_POINTS_PER_CLUSTER:
            raise TextError(
                f"has a character of {len(cluster)} code points; the limit is {MAX_CODE_POINTS_PER_CLUSTER}"
            )
        marks = sum(1 for ch in cluster if unicodedata.category(ch).startswith("M"))
        if marks > MAX_MARKS_PER_CLUSTER:
            raise TextError(f"has a character with {marks} combining marks; the limit is {MAX_MARKS_PER_CLUSTER}")
    if len(clusters) > max_graphemes:
        raise TextError(f"is {len(clusters)} characters long; the limit is {max_graphemes}")
    return len(clusters)


def clean_text(text: str, *, max_graphemes: int, allow_empty: bool = False) -> str:
    """NFC-normalize and check `text`; returns the normalized text or raises TextError.

    Size is checked before anything walks the text, so a huge input costs little."""
    # Cheap first cut on the raw input (NFC never grows text by more than 3x).
    if len(text) > 3 * max_graphemes * CODE_POINTS_PER_GRAPHEME:
        raise TextError(f"holds {len(text)} code points; the limit is {max_graphemes * CODE_POINTS_PER_GRAPHEME}")
    check_clean(text)
    normalized = nfc(text).strip()
    length = check_size(normalized, max_graphemes=max_graphemes)
    if length == 0 and not allow_empty:
        raise TextError("must not be empty")
    if length and _VISIBLE.search(normalized) is None:
        raise TextError("holds no visible character")
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


def language_problem(codes: Iterable[str], *, field: str) -> str | None:
    """What is wrong with `codes` as Koo's language codes, for a field violation; None if nothing."""
    unknown = next((code for code in codes if code not in LANGUAGES), None)
    if unknown is None:
        return None
    return f"{field}: unknown language code {unknown!r}; use one of {' '.join(sorted(LANGUAGES))}"


def check_languages(codes: Iterable[str], *, field: str = "languages") -> list[str]:
    """`codes` without repeats, in their order; INVALID_ARGUMENT naming `field` for an unknown one."""
    codes = list(codes)
    problem = language_problem(codes, field=field)
    if problem is not None:
        raise InvalidArgument(field, message=problem)
    return list(dict.fromkeys(codes))
