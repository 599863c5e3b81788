"""Language detection: script first, then Hindi/Marathi and Bengali/Assamese inside a script."""

from __future__ import annotations

import pytest

from services.post.langdetect import choose_language, detect_language
from tests.load.langdetect_accuracy import measure

# Floors under the measured accuracy (docs/performance.md): a change that makes
# detection worse fails here.
FLOOR_SHARED_SCRIPT = 0.85
FLOOR_OWN_SCRIPT = 1.0


def test_accuracy_per_language_stays_above_the_floor() -> None:
    for score in measure():
        floor = FLOOR_SHARED_SCRIPT if score.language in {"hi", "mr", "bn", "as"} else FLOOR_OWN_SCRIPT
        assert score.correct_blind / score.samples >= floor, (score.language, score.misses)
        assert score.correct_with_author >= score.correct_blind


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ਸਤ ਸ੍ਰੀ ਅਕਾਲ", "pa"),
        ("કેમ છો", "gu"),
        ("ନମସ୍କାର", "or"),
        ("வணக்கம்", "ta"),
        ("నమస్కారం", "te"),
        ("ನಮಸ್ಕಾರ", "kn"),
        ("നമസ്കാരം", "ml"),
        ("hello there", "en"),
        ("मी उद्या मुंबईला जाणार आहे", "mr"),
        ("मैं कल मुंबई जा रहा हूँ", "hi"),
        ("মই ঘৰলৈ যাম", "as"),
        ("আমি বাড়ি যাচ্ছি", "bn"),
    ],
)
def test_detects_by_script_then_within_the_script(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_links_and_handles_do_not_make_indic_text_english() -> None:
    text = "आज का मैच देखिए https://example.com/match/live @cricket_fan_club"
    assert detect_language(text) == "hi"


def test_ambiguous_short_text_follows_the_author_then_the_larger_language() -> None:
    assert detect_language("नमस्ते #भारत") == "hi"
    assert detect_language("नमस्ते #भारत", author_languages=["mr"]) == "mr"
    assert detect_language("নমস্কাৰ", author_languages=["bn"]) == "as"  # ৰ settles it


def test_no_letters_falls_back_to_the_author() -> None:
    assert detect_language("🙏 123 !!") is None
    assert choose_language("🙏 123 !!", author_languages=["kn", "en"]) == "kn"
    assert choose_language("🙏", author_languages=[]) == "en"
