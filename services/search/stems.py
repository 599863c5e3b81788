"""Light stemming: the case endings India's languages attach to a word, taken off again.

Tamil, Malayalam, Telugu, Kannada, Bengali, Assamese, Marathi, Odia and Gujarati write
case endings as part of the word: `சென்னையில்` is "in Chennai" (`சென்னை` + `யில்`),
`മലയാളത്തിൽ` "in Malayalam" (`മലയാളം`, whose final `ം` becomes `ത്ത` before the ending).
A post is indexed with the phonetic keys of its words' stems too (a lower weight than the
words themselves), so the bare word, typed in its script or in Latin letters, finds the
inflected forms, ranked below posts holding the word itself.

The tables hold (ending, what replaces it) per script, longest ending first; an ending is
only taken off when at least two letters are left, and a word may give several stems (an
over-eager one only adds a weakly ranked match, never hides one). Hindi and Punjabi write
their case markers as separate words (`भारत में`), so they need almost nothing here.

Chosen over prefix matching of phonetic keys by measurement (tests/quality/search_quality.py,
docs/text.md): a prefix cannot undo the stem changes (`மலயாளம்` -> `மலயாளத்தில்`), and
prefix lookups cost the index far more than exact ones.
"""

from __future__ import annotations

from functools import lru_cache

import regex

from services.kit.text import script_of

_Rules = tuple[tuple[str, str], ...]

# Endings after a vowel or a final `am` (written with the nasal: ம் ം ం ಂ).
_TAMIL: _Rules = (
    ("த்திலிருந்து", "ம்"),
    ("த்துக்கு", "ம்"),
    ("த்தில்", "ம்"),
    ("த்தின்", "ம்"),
    ("த்தை", "ம்"),
    ("த்தால்", "ம்"),
    ("த்தோடு", "ம்"),
    ("யிலிருந்து", ""),
    ("விலிருந்து", ""),
    ("ிலிருந்து", "்"),
    ("யுக்கு", ""),
    ("வுக்கு", ""),
    ("ுக்கு", "்"),
    ("க்கு", ""),
    ("யில்", ""),
    ("வில்", ""),
    ("யின்", ""),
    ("வின்", ""),
    ("யுடன்", ""),
    ("வுடன்", ""),
    ("ுடன்", "்"),
    ("கள்", ""),
    ("யை", ""),
    ("வை", ""),
    ("ில்", "்"),
    ("ின்", "்"),
    ("ை", "்"),
    ("ம்", ""),  # loans take -am: நேபாளம் is Nepal
)
_MALAYALAM: _Rules = (
    ("ത്തിന്റെ", "ം"),
    ("ത്തിലേക്ക്", "ം"),
    ("ത്തിൽ", "ം"),
    ("ത്തിന്", "ം"),
    ("ത്തെ", "ം"),
    ("ത്തോട്", "ം"),
    ("യിലേക്ക്", ""),
    ("യുടെ", ""),
    ("യിൽ", ""),
    ("യിലെ", ""),
    ("യ്ക്ക്", ""),
    ("യെ", ""),
    ("വിന്റെ", ""),
    ("വിൽ", ""),
    ("ിന്റെ", "്"),
    ("ിലേക്ക്", "്"),
    ("ിൽ", "്"),
    ("ിലെ", "്"),
    ("ിന്", "്"),
    ("ിനെ", "്"),
    ("ം", ""),
)
_TELUGU: _Rules = (
    ("లోని", ""),
    ("లో", ""),
    ("కు", ""),
    ("కి", ""),
    ("తో", ""),
    ("ను", ""),
    ("ని", ""),
    ("దేశం", ""),  # భారతదేశం, "the land of Bharat"
    ("ం", ""),
)
_KANNADA: _Rules = (
    ("ದಲ್ಲಿ", ""),
    ("ಯಲ್ಲಿ", ""),
    ("ವಿನಲ್ಲಿ", ""),
    ("ನಲ್ಲಿ", ""),
    ("ಲ್ಲಿ", ""),
    ("ದಿಂದ", ""),
    ("ಕ್ಕೆ", ""),
    ("ಗೆ", ""),
    ("ದ", ""),
    ("ವನ್ನು", ""),
    ("ನ್ನು", ""),
)
_BENGALI: _Rules = (  # Bengali and Assamese share the script
    ("য়ের", ""),
    ("য়েৰ", ""),
    ("ের", ""),
    ("েৰ", ""),
    ("তে", ""),
    ("কে", ""),
    ("য়", ""),
    ("ৰ", ""),
    ("র", ""),
    ("ত", ""),
)
_MARATHI_HINDI: _Rules = (  # Devanagari: Marathi attaches, Hindi only plural/oblique
    ("मध्ये", ""),
    ("ियों", "ी"),
    ("ाच्या", ""),
    ("ाचा", ""),
    ("ाची", ""),
    ("ाचे", ""),
    ("ाला", ""),
    ("ात", ""),
    ("ों", ""),
    ("चा", ""),
    ("ची", ""),
    ("चे", ""),
    ("ला", ""),
    ("ीत", "ी"),  # after a vowel the locative is -त: मराठीत, "in Marathi"
    ("ूत", "ू"),
    ("ोत", "ो"),
    ("ेत", "े"),
)
_ODIA: _Rules = (
    ("ରେ", ""),
    ("ରୁ", ""),
    ("କୁ", ""),
    ("ର", ""),
)
_GUJARATI: _Rules = (
    ("માં", ""),
    ("નું", ""),
    ("ની", ""),
    ("નો", ""),
    ("ના", ""),
    ("ને", ""),
    ("થી", ""),
)
_GURMUKHI: _Rules = (("ੋਂ", ""), ("ਾਂ", ""))

_RULES: dict[str, _Rules] = {
    "Tamil": _TAMIL,
    "Malayalam": _MALAYALAM,
    "Telugu": _TELUGU,
    "Kannada": _KANNADA,
    "Bengali": _BENGALI,
    "Devanagari": _MARATHI_HINDI,
    "Oriya": _ODIA,
    "Gujarati": _GUJARATI,
    "Gurmukhi": _GURMUKHI,
}
_GRAPHEME = regex.compile(r"\X")
MIN_STEM_LETTERS = 2


@lru_cache(maxsize=65536)
def stems(word: str) -> tuple[str, ...]:
    """Stems of one word written in one Indic script (the word itself not included).

    Two endings deep: `சென்னையில்` -> `சென்னை`; `நேபாளத்தில்` -> `நேபாளம்` -> `நேபாள`
    (Tamil's -am of loans); `సంస్కృతంలో` -> `సంస్కృతం` -> `సంస్కృత`. Latin -> ().
    """
    script = next((s for s in map(script_of, word) if s is not None), None)
    rules = _RULES.get(script or "")
    if not rules:
        return ()
    first = _strip(word, rules)
    found = dict.fromkeys(first)
    for stem in first:
        found.update(dict.fromkeys(_strip(stem, rules)))
    found.pop(word, None)
    return tuple(found)


def _strip(word: str, rules: _Rules) -> list[str]:
    out = []
    for ending, replacement in rules:
        if word.endswith(ending) and len(word) > len(ending):
            stem = word[: -len(ending)] + replacement
            if len(_GRAPHEME.findall(stem)) >= MIN_STEM_LETTERS and stem != word:
                out.append(stem)
    return out
