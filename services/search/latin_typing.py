"""Latin typing -> a language's script, with alternatives (the compose box's input method).

Two sources, merged:

1. **Rules**: indic-transliteration reads ITRANS, a precise Latin scheme (`A` is आ, `N`
   is ण, `T` is ट). People type loosely (`bharat`, `vanakkam`), so the word is first put
   into ITRANS the way people mean it (`ee` -> `I`, `oo` -> `U`, a bare `c` -> `k`, `w` ->
   `v`), and then alternatives are made by changing one guess at a time: a short vowel
   read long (`bharat` -> `bhArat` भारत), a dental read retroflex (`vanakkam` ->
   `vaNakkam` வணக்கம்), ... North Indian scripts write a final consonant without a
   virama (`bharat` is भरत, not भरत्); Tamil has sounds ITRANS cannot write (short e/o,
   alveolar ன), fixed in the script afterwards.
2. **Vocabulary** (`vocabulary.py`): the native words posts use whose Latin spellings
   share the typed word's phonetic key, most used first. They come before the rules'
   guesses: what people write beats what rules guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import regex
from indic_transliteration import sanscript

from services.kit.errors import InvalidArgument
from services.kit.text import nfc
from services.search.transliterate import word_keys

# The script each of Koo's languages is written in (English has nothing to transliterate).
LANGUAGE_SCRIPTS: dict[str, str] = {
    "as": "Bengali",
    "bn": "Bengali",
    "gu": "Gujarati",
    "hi": "Devanagari",
    "kn": "Kannada",
    "ml": "Malayalam",
    "mr": "Devanagari",
    "or": "Oriya",
    "pa": "Gurmukhi",
    "ta": "Tamil",
    "te": "Telugu",
}
_SCHEMES = {
    "Bengali": sanscript.BENGALI,
    "Devanagari": sanscript.DEVANAGARI,
    "Gujarati": sanscript.GUJARATI,
    "Gurmukhi": sanscript.GURMUKHI,
    "Kannada": sanscript.KANNADA,
    "Malayalam": sanscript.MALAYALAM,
    "Oriya": sanscript.ORIYA,
    "Tamil": sanscript.TAMIL,
    "Telugu": sanscript.TELUGU,
}
# Scripts whose languages do not say (or write) a word-final inherent vowel: `bharat` ends
# in a bare त, and a final `i` is mostly the long ई (हिंदी, भारती).
_FINAL_SCHWA_DROPPED = frozenset({"Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya"})

MAX_TEXT_CHARS = 100
DEFAULT_CANDIDATES = 5
MAX_CANDIDATES = 10
_LATIN_RUN = regex.compile(r"[A-Za-z]+")
_VOWELS = frozenset("aeiouAIU")

# One guess changed at a time, most likely first: (ITRANS unit, its other reading). North
# Indian typing mostly hides long vowels (`bharat` भारत); South Indian typing mostly hides
# retroflex consonants (`vanakkam` வணக்கம், `kannada` ಕನ್ನಡ).
_NORTH: tuple[tuple[str, str], ...] = (
    ("a", "A"),
    ("n", "N"),
    ("i", "I"),
    ("I", "i"),
    ("t", "T"),
    ("d", "D"),
    ("u", "U"),
    ("sh", "Sh"),
)
_SOUTH: tuple[tuple[str, str], ...] = (
    ("n", "N"),
    ("d", "D"),
    ("l", "L"),
    ("t", "T"),
    ("a", "A"),
    ("i", "I"),
    ("u", "U"),
    ("sh", "Sh"),
)
_UNIT = regex.compile(r"kSh|Sh|sh|ch|[kgcjtdpbTD]h|ai|au|.")


def script_for(language: str) -> str:
    script = LANGUAGE_SCRIPTS.get(language)
    if script is None:
        choices = " ".join(sorted(LANGUAGE_SCRIPTS))
        raise InvalidArgument("language", message=f"language must be one of: {choices} (English needs none)")
    return script


def _to_itrans(word: str, script: str) -> str:
    """How a casually typed Latin word most likely reads in ITRANS."""
    s = word.lower()
    s = s.replace("aa", "A").replace("ee", "I").replace("ii", "I").replace("oo", "U").replace("uu", "U")
    s = regex.sub(r"c(?!h)", "k", s).replace("w", "v").replace("q", "k").replace("x", "kSh")
    if script in _FINAL_SCHWA_DROPPED:
        if (s[-1] not in _VOWELS and s[-1] != "h") or s.endswith(
            ("bh", "dh", "th", "kh", "gh", "ph", "ch", "jh", "sh")
        ):
            s += "a"  # a written final consonant carries its (silent) inherent vowel
        elif s.endswith("i") and len(s) > 2:
            s = s[:-1] + "I"
    return s


def _variants(itrans: str, script: str) -> list[str]:
    """The word read as typed, then with one guess changed at a time."""
    units = _UNIT.findall(itrans)
    out = [itrans]
    for unit, other in _NORTH if script in _FINAL_SCHWA_DROPPED else _SOUTH:
        for index, found in enumerate(units):
            if found != unit:
                continue
            if unit == "a" and index == len(units) - 1:
                continue  # the silent final vowel added above
            changed = [*units[:index], other, *units[index + 1 :]]
            out.append("".join(changed))
    return list(dict.fromkeys(out))


_TAMIL_SIGN = regex.compile(r"[\u0b95-\u0bb9]")
# ITRANS writes only the long e/o and the dental ந: Tamil also has the short vowels
# (more common) and the alveolar ன (inside words, except before த).
_TAMIL_SHORT = str.maketrans({"\u0bc7": "\u0bc6", "\u0bcb": "\u0bca", "\u0b8f": "\u0b8e", "\u0b93": "\u0b92"})
_TAMIL_MEDIAL_NA = regex.compile(r"(?<=[\u0b80-\u0bff])\u0ba8(?!\u0bcd\u0ba4)")


def _tamil(word: str) -> list[str]:
    usual = _TAMIL_MEDIAL_NA.sub("\u0ba9", word.translate(_TAMIL_SHORT))
    return list(dict.fromkeys([usual, word.translate(_TAMIL_SHORT), word]))


def rule_spellings(word: str, script: str) -> list[str]:
    """Native spellings of one Latin word by the rules, most likely first."""
    scheme = _SCHEMES[script]
    usual: list[str] = []
    rarer: list[str] = []
    for variant in _variants(_to_itrans(word, script), script):
        try:
            native = nfc(sanscript.transliterate(variant, sanscript.ITRANS, scheme))
        except Exception:  # noqa: BLE001 - the library refusing one variant leaves the others
            continue
        if regex.search(r"[A-Za-z^]", native):
            continue  # the library left Latin letters: not a spelling
        forms = _tamil(native) if script == "Tamil" else [native]
        usual.append(forms[0])
        rarer.extend(forms[1:])
    return list(dict.fromkeys(usual + rarer))


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    from_vocabulary: bool


WordsFor = Callable[[Iterable[str], str, int], Awaitable[list[str]]]


async def transliterate(text: str, *, language: str, limit: int, words_for: WordsFor) -> list[Candidate]:
    """Ways to write `text` in `language`'s script, best first.

    Every Latin word gets its best spelling; the alternatives vary the last one (the word
    being typed). `words_for(keys, script, limit)` gives the vocabulary's words.
    """
    script = script_for(language)
    text = text.strip()
    if not text:
        raise InvalidArgument("text", message="text is required")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidArgument("text", message=f"text is longer than {MAX_TEXT_CHARS} characters")
    if limit < 0 or limit > MAX_CANDIDATES:
        raise InvalidArgument("max_candidates", message=f"max_candidates must be 0-{MAX_CANDIDATES}")
    limit = limit or DEFAULT_CANDIDATES
    runs = list(_LATIN_RUN.finditer(text))
    if not runs:
        return [Candidate(text, False)]

    async def options(word: str) -> list[Candidate]:
        learnt = await words_for(word_keys(word.lower(), query=True), script, limit)
        ruled = [w for w in rule_spellings(word, script) if w not in learnt]
        return [Candidate(w, True) for w in learnt] + [Candidate(w, False) for w in ruled]

    best: list[str] = []
    for run in runs[:-1]:
        choices = await options(run.group())
        best.append(choices[0].text if choices else run.group())
    last = runs[-1]
    candidates: list[Candidate] = []
    for choice in (await options(last.group()))[:limit]:
        pieces, cursor = [], 0
        for run, native in zip(runs, [*best, choice.text], strict=True):
            pieces.append(text[cursor : run.start()])
            pieces.append(native)
            cursor = run.end()
        pieces.append(text[cursor:])
        candidates.append(Candidate("".join(pieces), choice.from_vocabulary))
    return candidates or [Candidate(text, False)]
