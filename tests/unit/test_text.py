"""Text rules on India's scripts."""

from __future__ import annotations

import unicodedata

import pytest

from services.kit.text import (
    TextError,
    clean_text,
    dominant_script,
    extract_hashtags,
    extract_mentions,
    grapheme_length,
)


@pytest.mark.parametrize(
    ("text", "clusters"),
    [
        ("नमस्ते दुनिया", 7),  # Hindi: 13 code points
        ("தமிழ்", 3),  # Tamil
        # Kannada conjuncts still break at the virama in Unicode's extended clusters
        # (GB9c covers Devanagari, Bengali, Gujarati, Odia, Telugu, Malayalam only).
        ("ಕನ್ನಡ", 4),
        ("বাংলা", 2),  # Bengali: the anusvara joins its syllable
        ("ଓଡ଼ିଆ", 3),  # Odia (nukta + vowel sign)
        ("abc", 3),
    ],
)
def test_grapheme_length_counts_what_readers_see(text: str, clusters: int) -> None:
    assert grapheme_length(text) == clusters


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("नमस्ते #भारत", ["भारत"]),
        ("#தமிழ்நாடு வாழ்க", ["தமிழ்நாடு"]),
        ("ಸುದ್ದಿ #ಕನ್ನಡ #ಬೆಂಗಳೂರು", ["ಕನ್ನಡ", "ಬೆಂಗಳೂರು"]),
        ("#বাংলা ভাষা", ["বাংলা"]),
        ("#ଓଡ଼ିଆ ଭାଷା", ["ଓଡ଼ିଆ"]),
        ("#IPL2025 and #ipl2025 again", ["IPL2025"]),
        ("no#tag here, #123 only digits", []),
    ],
)
def test_hashtags_keep_combining_marks(text: str, tags: list[str]) -> None:
    assert extract_hashtags(text) == tags


def test_hashtag_is_nfc_normalized() -> None:
    decomposed = unicodedata.normalize("NFD", "#ଓଡ଼ିଆ")
    assert extract_hashtags(decomposed) == [unicodedata.normalize("NFC", "ଓଡ଼ିଆ")]


def test_mentions_are_handles_lowercased_and_not_emails() -> None:
    assert extract_mentions("hi @Asha_R and @ravi, mail me at a@example.com @asha_r") == ["asha_r", "ravi"]
    assert extract_mentions("@ab is too short") == []


def test_clean_text_normalizes_and_rejects_controls() -> None:
    assert clean_text(unicodedata.normalize("NFD", "क़"), max_graphemes=5) == "\u0915\u093c"
    with pytest.raises(TextError, match="control character U\\+0007"):
        clean_text("bell\x07", max_graphemes=10)
    with pytest.raises(TextError, match="empty"):
        clean_text("   ", max_graphemes=10)
    with pytest.raises(TextError, match="501 characters"):
        clean_text("क" * 501, max_graphemes=500)
    # ZWJ/ZWNJ are part of Indic spelling and stay.
    assert clean_text("क्\u200dष", max_graphemes=10) == "क्\u200dष"


def test_five_hundred_devanagari_clusters_of_a_thousand_code_points_pass() -> None:
    text = "कि" * 500
    assert len(text) == 1000
    assert grapheme_length(clean_text(text, max_graphemes=500)) == 500


@pytest.mark.parametrize(
    ("text", "script"),
    [("नमस्ते", "Devanagari"), ("வணக்கம்", "Tamil"), ("ನಮಸ್ಕಾರ", "Kannada"), ("hello", "Latin"), ("123", None)],
)
def test_dominant_script(text: str, script: str | None) -> None:
    assert dominant_script(text) == script
