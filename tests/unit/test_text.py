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
    fold_joiners,
    grapheme_length,
    hashtag_key,
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


# Zero-width joiners: ZWNJ U+200C, ZWJ U+200D (written \u200c / \u200d below).
@pytest.mark.parametrize(
    ("text", "tags"),
    [
        # Malayalam: atomic chillu then ZWNJ (the Kolkata), old-style chillu ന്‍ inside a word
        ("#കൊൽ\u200cക്കത്ത യാത്ര", ["കൊൽ\u200cക്കത്ത"]),
        ("#അവന്\u200dറെ വീട്", ["അവന്\u200dറെ"]),
        # ... and at the end of the tag: the ZWJ completes the chillu, so it stays
        ("#കേരളത്തിന്\u200d വേണ്ടി", ["കേരളത്തിന്\u200d"]),
        # Bengali khanda-ta written with ZWJ
        ("#উত্\u200dসব আজ", ["উত্\u200dসব"]),
        # Marathi eyelash ra
        ("#सुर्\u200dया गाणे", ["सुर्\u200dया"]),
        # Hindi, Kannada, Telugu words that keep a half form apart with ZWNJ
        ("#क्\u200cष", ["क्\u200cष"]),
        ("#ಕನ್ನಡ\u200cದ ಹಬ್ಬ", ["ಕನ್ನಡ\u200cದ"]),
        ("#తెలుగు\u200cలో వార్తలు", ["తెలుగు\u200cలో"]),
        # never first, never last (outside a virama letter), never between tags
        ("#\u200cभारत", []),
        ("#भारत\u200c और", ["भारत"]),
        ("#cricket\u200d!", ["cricket"]),
        ("x\u200d#भारत", []),
    ],
)
def test_hashtags_keep_joiners_inside_words(text: str, tags: list[str]) -> None:
    assert extract_hashtags(text) == tags


def test_hashtag_keys_fold_joiners_and_legacy_letters() -> None:
    # The old (ZWJ) and new (atomic) encodings of one letter are one hashtag.
    assert hashtag_key("#കേരളത്തിന്\u200d") == hashtag_key("കേരളത്തിൻ") == "കേരളത്തിൻ"
    assert hashtag_key("উত্\u200dসব") == "উৎসব"
    assert hashtag_key("കൊൽ\u200cക്കത്ത") == "കൊൽക്കത്ത"
    assert hashtag_key("#IPL") == "ipl"
    # One post using both spellings has one tag (the first written).
    assert extract_hashtags("#കേരളത്തിന്\u200d #കേരളത്തിൻ") == ["കേരളത്തിന്\u200d"]
    assert fold_joiners("सुर्\u200dया") == "सुर्या"


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("hi @ra\u200dvi_k", ["ravi_k"]),  # invisible inside: the handle the reader sees
        ("@ravi_k\u200c, hello", ["ravi_k"]),  # never ends on one
        ("@\u200dravi_k", []),  # never starts on one
        ("@ravi_k\u200dकुमार", []),  # glued to more letters: a longer word, no handle
        ("x\u200d@ravi_k", []),  # not after a joined word (like an email)
    ],
)
def test_mentions_and_joiners(text: str, handles: list[str]) -> None:
    assert extract_mentions(text) == handles
