"""English names of Indian places and languages, and the names their speakers use.

A phonetic key joins spellings of one word (`chennai`/`chenai`); it cannot join two
words: `delhi` is `दिल्ली` (dilli), `india` is `भारत` (bharat), `bombay` is `मुंबई`. A
Latin query word found here also looks for the spellings listed (query side only: what
is indexed does not change). Keys are lower-case ASCII; values are typed spellings, each
run through the same phonetic key as any other word.
"""

from __future__ import annotations

from functools import cache

EXONYMS: dict[str, tuple[str, ...]] = {
    # the country, its neighbours
    "india": ("bharat", "bharatadesam", "hindustan"),
    "indian": ("bharatiya", "bharatiy"),
    "srilanka": ("ilankai", "lanka"),
    "ceylon": ("ilankai", "lanka"),
    "burma": ("myanmar",),
    "tibet": ("tibbat",),
    "maldives": ("maldiv", "maldivs", "maldibas", "maldvip", "malidvip", "maladvip", "malattivu", "maldivulu"),
    "bangladesh": ("bangaladesh",),
    # cities by their English and old names
    "delhi": ("dilli",),
    "bombay": ("mumbai",),
    "madras": ("chennai",),
    "calcutta": ("kolkata",),
    "bangalore": ("bengaluru",),
    "mysore": ("mysuru",),
    "trivandrum": ("thiruvananthapuram",),
    "cochin": ("kochi",),
    "calicut": ("kozhikode",),
    "pondicherry": ("puducherry",),
    "poona": ("pune",),
    "benares": ("varanasi", "banaras"),
    "baroda": ("vadodara",),
    "gurgaon": ("gurugram",),
    "orissa": ("odisha",),
    # languages: English names that are not the speakers' own
    "bengali": ("bangla", "bangali", "bangala", "vangalam"),
    "bangla": ("bangali", "bangala", "vangalam"),
    "english": ("angrezi", "ingreji", "ingraji", "angilam", "inglish"),
    "assamese": ("asamiya", "axamiya", "asomiya"),
    "odia": ("udiya", "uriya", "oriya"),
    "oriya": ("odia", "udiya"),
    "urdu": ("urudu",),
    "santali": ("saontali", "santhali"),
    "sanskrit": ("samskrit", "samskritam", "samaskirutam", "sansakrit"),
    "gujarati": ("gujrati",),
}


@cache
def _by_key() -> dict[str, tuple[str, ...]]:
    from services.search.transliterate import phonetic_key

    table: dict[str, tuple[str, ...]] = {}
    for name, spellings in EXONYMS.items():
        key = phonetic_key(name)
        table[key] = table.get(key, ()) + spellings
    return table


def exonym_spellings(word: str) -> tuple[str, ...]:
    """Native spellings of an English name (a Latin word), else ().

    Looked up by phonetic key, so the English name as people type it counts too
    (`Dehli`, `eendia`, `indiaa`).
    """
    from services.search.transliterate import phonetic_key

    return _by_key().get(phonetic_key(word), ())
