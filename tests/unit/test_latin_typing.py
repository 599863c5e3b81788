"""Latin typing -> native script by rules, and the words posts teach (no I/O here; the
endpoint and the vocabulary in PostgreSQL are tested in tests/e2e/test_transliteration.py)."""

from __future__ import annotations

import pytest

from services.kit.errors import InvalidArgument
from services.search.latin_typing import rule_spellings, script_for
from services.search.transliterate import phonetic_key
from services.search.vocabulary import native_words, vocabulary_rows


@pytest.mark.parametrize(
    ("latin", "script", "first"),
    [
        ("namaste", "Devanagari", "नमस्ते"),
        ("hindi", "Devanagari", "हिन्दी"),  # a final i is long in Hindi
        ("shubh", "Devanagari", "शुभ"),  # no virama on a final consonant
        ("chennai", "Tamil", "சென்னை"),  # short e, alveolar ன inside the word
        ("namaskar", "Bengali", "নমস্কর"),
    ],
)
def test_the_usual_reading_comes_first(latin: str, script: str, first: str) -> None:
    assert rule_spellings(latin, script)[0] == first


@pytest.mark.parametrize(
    ("latin", "script", "wanted"),
    [
        ("bharat", "Devanagari", "भारत"),  # a long vowel people do not type
        ("vanakkam", "Tamil", "வணக்கம்"),  # a retroflex people do not type
        ("kannada", "Kannada", "ಕನ್ನಡ"),
        ("namaskar", "Bengali", "নমস্কার"),
    ],
)
def test_what_people_mean_is_among_the_first_alternatives(latin: str, script: str, wanted: str) -> None:
    assert wanted in rule_spellings(latin, script)[:5]


def test_spellings_hold_only_the_target_script() -> None:
    for latin in ("xylophone", "qwerty", "zindagi", "fb", "aaaa"):
        for spelling in rule_spellings(latin, "Devanagari"):
            assert all("\u0900" <= ch <= "\u097f" for ch in spelling), (latin, spelling)


def test_languages_without_a_script_to_type_are_refused() -> None:
    assert script_for("ta") == "Tamil" and script_for("mr") == "Devanagari"
    for code in ("en", "xx", ""):
        with pytest.raises(InvalidArgument):
            script_for(code)


def test_posts_teach_native_words_under_the_keys_of_their_latin_spellings() -> None:
    words = native_words("नमस्ते भारत! Hello भारत #भारत வணக்கம் mixedभारत")
    assert words == {("नमस्ते", "Devanagari"): 1, ("भारत", "Devanagari"): 1, ("வணக்கம்", "Tamil"): 1}
    rows = vocabulary_rows(["भारत माता", "भारत"])
    bharat = [r for r in rows if r["word"] == "भारत"]
    assert {r["key"] for r in bharat} >= {phonetic_key("bharat")}
    assert all(r["uses"] == 2 and r["script"] == "Devanagari" for r in bharat)
