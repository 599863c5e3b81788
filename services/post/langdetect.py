"""Which language a post is written in: script first, then a detector inside the script.

Most of Koo's languages own a script, so the script decides (Tamil script -> ta). Two
scripts are shared: Devanagari (Hindi, Marathi) and Bengali-Assamese script (Bengali,
Assamese). For Devanagari we ask lingua, restricted to Hindi and Marathi (only those two
models load, lazily, once per process: loading all of lingua costs ~1.3 GB), helped by
marker words and the letter ळ. Lingua has no Assamese, so Bengali vs Assamese is decided
here: Assamese writes its r as ৰ and its w/v as ৱ where Bengali writes র, and each has
frequent function words the other lacks. Text too short to tell falls back to the
author's languages (a Marathi speaker's `नमस्ते` is Marathi), then to the larger language.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import regex

from services.kit.text import dominant_script

# A script spoken by one of Koo's languages decides it outright.
SCRIPT_LANGUAGE: dict[str, str] = {
    "Gurmukhi": "pa",
    "Gujarati": "gu",
    "Oriya": "or",
    "Tamil": "ta",
    "Telugu": "te",
    "Kannada": "kn",
    "Malayalam": "ml",
    "Latin": "en",
}

_URL = regex.compile(r"https?://\S+|www\.\S+", regex.IGNORECASE)
_MENTION = regex.compile(r"@[A-Za-z0-9_]+")
_WORDS = regex.compile(r"[\p{L}\p{M}]+")

# Frequent words of one language that the other does not use (or spells differently).
_HINDI_MARKERS = frozenset(
    [
        "है",
        "हैं",
        "था",
        "थी",
        "थे",
        "और",
        "नहीं",
        "मैं",
        "हूँ",
        "हूं",
        "का",
        "की",
        "के",
        "में",
        "से",
        "को",
        "ने",
        "यह",
        "वह",
        "ये",
        "वो",
        "क्या",
        "कैसे",
        "रहा",
        "रही",
        "रहे",
        "गया",
        "गई",
        "गए",
        "जाता",
        "जाती",
        "सकता",
        "सकते",
        "लिए",
        "भी",
        "पर",
        "होगा",
        "होगी",
        "कुछ",
        "बहुत",
        "अपना",
        "अपनी",
        "आप",
        "तुम",
        "उनके",
        "इस",
        "उस",
        "करना",
        "करते",
        "करें",
        "दिया",
        "किया",
    ]
)
_MARATHI_MARKERS = frozenset(
    [
        "आहे",
        "आहेत",
        "आहोत",
        "आणि",
        "नाही",
        "नाहीत",
        "मी",
        "आम्ही",
        "आपण",
        "तुम्ही",
        "त्या",
        "त्याच्या",
        "त्याचा",
        "माझा",
        "माझी",
        "माझे",
        "आमचा",
        "आमची",
        "तुमचा",
        "तुमची",
        "काय",
        "कसे",
        "कसा",
        "कशी",
        "केले",
        "केला",
        "केली",
        "करत",
        "करणार",
        "झाले",
        "झाला",
        "झाली",
        "गेले",
        "गेला",
        "गेली",
        "पण",
        "म्हणून",
        "सुद्धा",
        "येथे",
        "इथे",
        "तिथे",
        "खूप",
        "फार",
        "उद्या",
        "चे",
        "ची",
        "चा",
    ]
)
_MARATHI_SUFFIXES = ("च्या", "ाचा", "ाची", "ाचे", "मध्ये", "ांना", "ंनी")
_HINDI_SUFFIXES = ("ियों", "ाओं")

_ASSAMESE_MARKERS = frozenset(
    [
        "আৰু",
        "নহয়",
        "মই",
        "আপুনি",
        "তেওঁ",
        "তেখেত",
        "বুলি",
        "হৈছে",
        "গৈছে",
        "কৰিছে",
        "আছিল",
        "নাছিল",
        "কিয়",
        "লগত",
        "বহুত",
        "এজন",
        "যাম",
        "খাম",
        "হ'ব",
        "হ’ব",
        "ক'ত",
        "ক’ত",
        "কেনেকৈ",
        "কেনে",
        "আমাৰ",
        "তোমাৰ",
        "মোৰ",
        "মোক",
        "তোমাক",
        "সকলো",
        "অলপ",
        "এতিয়া",
        "ইয়াত",
        "তাত",
        "পিছত",
        "আগত",
        "কৰা",
        "কৰক",
        "হওক",
        "আজি",
        "কালি",
    ]
)
# Assamese: allative -লৈ, plurals -বোৰ/-সকল, classifier -খন, perfect -িছে.
_ASSAMESE_SUFFIXES = ("লৈ", "বোৰ", "সকল", "খন", "িছে")
# Bengali: perfect -েছে/-েছি, progressive -চ্ছে/-চ্ছি, plurals -গুলো/-দের, classifier -টি.
_BENGALI_SUFFIXES = ("েছে", "েছি", "চ্ছে", "চ্ছি", "গুলো", "দের", "টি")
_BENGALI_MARKERS = frozenset(
    [
        "এবং",
        "আমার",
        "তোমার",
        "আমাকে",
        "তোমাকে",
        "করে",
        "করেছে",
        "করছি",
        "করবে",
        "হয়েছে",
        "হয়েছিল",
        "ছিল",
        "ছিলাম",
        "থেকে",
        "দিয়ে",
        "সঙ্গে",
        "জন্য",
        "নয়",
        "খুব",
        "ভালো",
        "যাচ্ছি",
        "বলে",
        "কেন",
        "কোথায়",
        "কেমন",
        "এখানে",
        "ওখানে",
        "সবাই",
        "একটু",
        "এখনও",
        "আজকে",
        "তাদের",
        "তিনি",
        "উনি",
        "আপনি",
        "আপনার",
        "হবে",
        "হচ্ছে",
    ]
)

_LINGUA_WEIGHT = 3.0
_UNDECIDED = 0.5  # |score| below this is "can't tell"


class _Lingua:
    """Lingua restricted to Hindi and Marathi, built on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detector: Any = None

    def detector(self) -> Any:
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from lingua import Language, LanguageDetectorBuilder

                    self._detector = LanguageDetectorBuilder.from_languages(Language.HINDI, Language.MARATHI).build()
        return self._detector

    def hi_vs_mr(self, text: str) -> tuple[str, float]:
        """The likelier of hi/mr and its lead over the other (0..1)."""
        values = self.detector().compute_language_confidence_values(text)
        scores = {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values}
        hi, mr = scores.get("hi", 0.0), scores.get("mr", 0.0)
        return ("hi", hi - mr) if hi >= mr else ("mr", mr - hi)


_LINGUA = _Lingua()


def _strip(text: str) -> str:
    """Text without links and @handles; hashtag words stay (they are words)."""
    return _MENTION.sub(" ", _URL.sub(" ", text)).replace("#", " ")


def _prefer(candidates: tuple[str, str], author_languages: Sequence[str], default: str) -> str:
    for code in author_languages:
        if code in candidates:
            return code
    return default


def _devanagari(text: str, author_languages: Sequence[str]) -> str:
    words = _WORDS.findall(text)
    hi = sum(1 for w in words if w in _HINDI_MARKERS or w.endswith(_HINDI_SUFFIXES))
    mr = sum(1 for w in words if w in _MARATHI_MARKERS or w.endswith(_MARATHI_SUFFIXES))
    # ळ is everyday Marathi and all but absent from Hindi.
    mr += 2 * text.count("ळ")
    best, lead = _LINGUA.hi_vs_mr(text)
    # Marker words count one each; lingua's lead (0..1) counts up to three.
    score = (mr - hi) + _LINGUA_WEIGHT * (lead if best == "mr" else -lead)
    if score >= _UNDECIDED:
        return "mr"
    if score <= -_UNDECIDED:
        return "hi"
    # Too short to tell (`नमस्ते #भारत`): the author's own language, else Hindi (more speakers).
    return _prefer(("hi", "mr"), author_languages, "hi")


def _bengali_script(text: str, author_languages: Sequence[str]) -> str:
    assamese = 3 * (text.count("\u09f0") + text.count("\u09f1"))  # ৰ ৱ
    bengali = 3 * text.count("\u09b0")  # র
    for word in _WORDS.findall(text):
        if word in _ASSAMESE_MARKERS or word.endswith(_ASSAMESE_SUFFIXES):
            assamese += 1
        if word in _BENGALI_MARKERS or word.endswith(_BENGALI_SUFFIXES):
            bengali += 1
    if assamese != bengali:
        return "as" if assamese > bengali else "bn"
    return _prefer(("bn", "as"), author_languages, "bn")


def detect_language(text: str, *, author_languages: Sequence[str] = ()) -> str | None:
    """The language code of `text`, or None when it has no letters to judge by."""
    body = _strip(text)
    script = dominant_script(body)
    if script is None:
        return None
    if script in SCRIPT_LANGUAGE:
        return SCRIPT_LANGUAGE[script]
    if script == "Devanagari":
        return _devanagari(body, author_languages)
    if script == "Bengali":
        return _bengali_script(body, author_languages)
    return None


def choose_language(text: str, *, author_languages: Sequence[str], fallback: str = "en") -> str:
    """Detected language, else the author's first language, else `fallback`."""
    detected = detect_language(text, author_languages=author_languages)
    if detected:
        return detected
    return author_languages[0] if author_languages else fallback
