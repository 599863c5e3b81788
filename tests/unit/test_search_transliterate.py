"""Transliteration and phonetic keys: what people type in Latin letters meets Indic text."""

from __future__ import annotations

import pytest

from services.search.analysis import (
    MAX_QUERY_WORDS,
    document_keys,
    document_terms,
    hashtag_key,
    hashtag_phonetics,
    query_phonetics,
    query_words,
    words,
)
from services.search.stems import stems
from services.search.transliterate import phonetic_key, romanize, word_keys

# (word as written, as people type it): real words, several spellings where people differ.
TYPED = {
    "hindi": [
        ("भारत", "bharat"),
        ("भारत", "bharath"),
        ("भारती", "bharti"),
        ("हिंदी", "hindi"),
        ("हिन्दी", "hindi"),
        ("कृष्ण", "krishna"),
        ("सड़क", "sadak"),
        ("सड़क", "sarak"),
        ("लड़का", "ladka"),
        ("ज़िंदगी", "zindagi"),
        ("ज़िंदगी", "jindagi"),
        ("फ़िल्म", "film"),
        ("दुःख", "dukh"),
        ("मुंबई", "mumbai"),
        ("दिल्ली", "dilli"),
        ("नमस्ते", "namaste"),
        ("अंबेडकर", "ambedkar"),
        ("गंगा", "ganga"),
        ("चाँद", "chand"),
        ("चाँद", "chaand"),
        ("ख़बर", "khabar"),
        ("ऋषि", "rishi"),
        ("समझना", "samajhna"),
        ("स्वामी", "swami"),
        ("विकास", "vikas"),
        ("विकास", "vikash"),
        ("क्रिकेट", "cricket"),
        ("हैं", "hain"),
        ("शांति", "shanti"),
        ("पानी", "paani"),
        ("पानी", "pani"),
        ("दोस्त", "dost"),
        ("प्यार", "pyar"),
        ("खाना", "khana"),
        ("बच्चा", "bachcha"),
        ("बच्चा", "bacha"),
        ("छत्तीसगढ़", "chhattisgarh"),
        ("चाय", "chai"),
        ("भीम", "bheem"),
    ],
    "bengali": [
        ("ভারত", "bharat"),
        ("বাংলা", "bangla"),
        ("কলকাতা", "kolkata"),
        ("রবীন্দ্রনাথ", "rabindranath"),
        ("ঢাকা", "dhaka"),
        ("বিশ্ব", "biswa"),
        ("সংবাদ", "sangbad"),
        ("শান্তিনিকেতন", "shantiniketan"),
        ("ভালোবাসা", "bhalobasa"),
        ("মাছ", "machh"),
        ("মাছ", "mach"),
        ("চা", "cha"),
        ("অসমীয়া", "asamiya"),
        ("ৰাজ্য", "rajya"),  # Assamese letters: read with the Assamese scheme
        ("অসম", "asam"),
    ],
    "tamil": [
        ("சென்னை", "chennai"),
        ("சென்னை", "sennai"),
        ("தமிழ்", "tamil"),
        ("தமிழ்", "tamizh"),
        ("முருகன்", "murugan"),
        ("கோவில்", "kovil"),
        ("மதுரை", "madurai"),
        ("சரவணன்", "saravanan"),
        ("பொங்கல்", "pongal"),
        ("வணக்கம்", "vanakkam"),
        ("ரஜினிகாந்த்", "rajinikanth"),
        ("இட்லி", "idli"),
        ("தோசை", "dosai"),
        ("அம்மா", "amma"),
        ("சாம்பார்", "sambar"),
        ("கமல்", "kamal"),
    ],
    "kannada": [
        ("ಕನ್ನಡ", "kannada"),
        ("ಕನ್ನಡ", "kanada"),
        ("ಸುದ್ದಿ", "suddi"),
        ("ಬೆಂಗಳೂರು", "bengaluru"),
        ("ಮೈಸೂರು", "mysuru"),
        ("ಕರ್ನಾಟಕ", "karnataka"),
        ("ಹುಬ್ಬಳ್ಳಿ", "hubballi"),
        ("ಕೃಷ್ಣ", "krishna"),
        ("ನಮಸ್ಕಾರ", "namaskara"),
        ("ಮಂಗಳೂರು", "mangaluru"),
        ("ಚಿತ್ರ", "chitra"),
    ],
    "others": [
        ("తెలుగు", "telugu"),
        ("మలయాళం", "malayalam"),
        ("കേരളം", "keralam"),
        ("ગુજરાત", "gujarat"),
        ("ଓଡ଼ିଶା", "odisha"),
        ("ప్రపంచం", "prapancham"),
        ("കേരളത്തിൽ", "keralathil"),
    ],
}
CASES = [(script, native, latin) for script, pairs in TYPED.items() for native, latin in pairs]


@pytest.mark.parametrize(("script", "native", "typed"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_typed_latin_meets_the_indic_word(script: str, native: str, typed: str) -> None:
    assert word_keys(native, query=False) & word_keys(typed, query=True), (
        native,
        typed,
        romanize(native),
        word_keys(native, query=False),
        word_keys(typed, query=True),
    )


@pytest.mark.parametrize(
    ("native", "typed"),
    [("भारत", "chennai"), ("ಕನ್ನಡ", "bharat"), ("சென்னை", "kannada"), ("हिंदी", "tamil"), ("বাংলা", "bengaluru")],
)
def test_unrelated_words_do_not_meet(native: str, typed: str) -> None:
    assert not word_keys(native, query=False) & word_keys(typed, query=True)


def test_the_issue_examples() -> None:
    assert "barat" in word_keys("भारत", query=False) & word_keys("bharat", query=True)
    assert "kanad" in word_keys("ಕನ್ನಡ", query=False) & word_keys("kannada", query=True)
    assert "~cenai" in word_keys("சென்னை", query=False) & word_keys("chennai", query=True)


def test_same_word_in_two_scripts_shares_a_key() -> None:
    # A Hindi query finds the Bengali spelling of the same word, and the other way round.
    assert word_keys("भारत", query=True) & word_keys("ভারত", query=False)
    assert word_keys("कृष्ण", query=True) & word_keys("ಕೃಷ್ಣ", query=False)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("chennai", "chenai"),
        ("sh", "s"),
        ("bhaarat", "bharat"),
        ("phool", "fool"),
        ("vishwas", "viswas"),
        ("zameen", "jamin"),
        ("kannada", "kannad"),
        ("aashaa", "asha"),
        ("thaali", "tali"),
        ("dhoodh", "dud"),
        ("ghar", "gar"),
        ("khel", "kel"),
        ("Bhārat", "bharat"),
    ],
)
def test_phonetic_key_collapses_spellings(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b)


def test_coarse_key_folds_voicing_and_is_marked() -> None:
    assert phonetic_key("murugan", coarse=True) == phonetic_key("murukan", coarse=True) == "~murukan"
    assert phonetic_key("tamizh", coarse=True) == "~tamil"
    assert phonetic_key("bat") != phonetic_key("pat")  # the plain key keeps voicing


def test_english_words_in_posts_never_meet_through_the_coarse_fold() -> None:
    assert not word_keys("bat", query=False) & word_keys("pad", query=True)
    assert all(not k.startswith("~") for k in word_keys("bat", query=False))


def test_schwa_deletion_variants_for_north_indian_scripts_only() -> None:
    assert romanize("भारती") == ("bharati", "bharti")
    assert romanize("ಭಾರತಿ") == ("bharati",)  # Kannada keeps its vowels


def test_malayalam_chillus_and_final_anusvara() -> None:
    assert romanize("കേരളത്തിൽ") == ("keralattil",)
    assert romanize("മലയാളം") == ("malayalam",)
    assert romanize("हिंदी") == ("hindi",)


def test_words_keep_indic_words_whole_and_drop_joiners() -> None:
    assert words("#ಕನ್ನಡ ಸುದ್ದಿ") == ["ಕನ್ನಡ", "ಸುದ್ದಿ"]
    assert words("नमस्ते दुनिया!") == ["नमस्ते", "दुनिया"]
    assert words("क्\u200dष") == ["क्ष"]
    assert words("Hello WORLD") == ["hello", "world"]


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        "'; DROP TABLE koo_search.posts; --",
        'title:foo AND * "quoted" (x|y) !z <-> a:*',
        "C:\\path\\to\\file \\' \\\\",
        "%_ LIKE %",
    ],
)
def test_query_syntax_becomes_plain_words(q: str) -> None:
    for word in query_words(q):
        assert all(ch.isalnum() or ch in "\u0900\u0dff" for ch in word.text), word
        assert all(k.replace("~", "").isalnum() for k in word.keys), word


def test_query_words_are_bounded_and_unique() -> None:
    got = query_words(" ".join(f"w{i}" for i in range(50)) + " w1 w1")
    assert len(got) == MAX_QUERY_WORDS
    assert len({w.text for w in got}) == len(got)


def test_document_keys_cover_each_word() -> None:
    assert document_keys("#ಕನ್ನಡ ಸುದ್ದಿ") == ["kanad", "sudi"]
    assert "barat" in document_keys("जय भारत")


def test_hashtag_keys_and_phonetics() -> None:
    assert hashtag_key("#Cricket") == hashtag_key("cricket") == "cricket"
    assert hashtag_key("#ಕನ್ನಡ") == "ಕನ್ನಡ"
    assert hashtag_phonetics("ಕನ್ನಡ").fine.startswith(query_phonetics("kann").fine)  # type: ignore[union-attr]
    assert hashtag_phonetics("சென்னை").coarse.startswith(query_phonetics("chen").coarse)  # type: ignore[union-attr]
    assert query_phonetics("ಕನ್") is None


# Inflected words, Latin spellings people type, English names (issue 14) ---------------


@pytest.mark.parametrize(
    ("inflected", "bare"),
    [
        ("சென்னையில்", "சென்னை"),  # Tamil: in Chennai
        ("இந்தியாவில்", "இந்தியா"),
        ("தமிழில்", "தமிழ்"),
        ("நேபாளத்தில்", "நேபாளம்"),  # -am becomes -att- before the ending
        ("മലയാളത്തിൽ", "മലയാളം"),  # Malayalam, same change
        ("ഇന്ത്യയിൽ", "ഇന്ത്യ"),
        ("తెలుగులో", "తెలుగు"),  # Telugu
        ("ಭಾರತದಲ್ಲಿ", "ಭಾರತ"),  # Kannada
        ("ভারতের", "ভারত"),  # Bengali
        ("ভাৰতত", "ভাৰত"),  # Assamese
        ("भारतात", "भारत"),  # Marathi
        ("मराठीत", "मराठी"),
        ("ଭାରତରେ", "ଭାରତ"),  # Odia
        ("ભારતમાં", "ભારત"),  # Gujarati
    ],
)
def test_a_bare_word_in_either_script_meets_its_inflected_forms(inflected: str, bare: str) -> None:
    stem_keys = set(document_terms(inflected).stem_keys)
    assert stem_keys & set(document_terms(bare).keys), (inflected, bare)
    # what a reader types: the bare word, or its Latin spelling
    assert stem_keys & set(query_words(bare)[0].keys)
    latin = romanize(bare)[-1]
    assert stem_keys & set(query_words(latin)[0].keys), latin


def test_stems_are_never_shorter_than_two_letters_and_leave_latin_alone() -> None:
    assert stems("cricket") == ()
    assert stems("கை") == ()  # nothing left to stand for a word
    assert "சென்னை" in stems("சென்னையில்")


@pytest.mark.parametrize(
    ("typed", "native"),
    [
        ("punjab", "पंजाब"),  # u for the short a
        ("punjabi", "ਪੰਜਾਬੀ"),
        ("delhi", "दिल्ली"),  # English name -> the speakers' own
        ("DELHI", "দিল্লি"),
        ("india", "भारत"),
        ("india", "இந்தியா"),
        ("india", "ഇന്ത്യ"),
        ("india", "భారతదేశం"),
        ("nepal", "நேபாளம்"),
        ("goa", "गोवा"),
        ("nagaland", "नागालैंड"),
        ("odia", "ओड़िया"),
        ("bombay", "मुंबई"),
        ("bhaarat", "भारत"),  # doubled vowel
        ("barat", "भारत"),  # aspirate left out
    ],
)
def test_latin_spellings_people_type_reach_the_native_word(typed: str, native: str) -> None:
    terms = document_terms(native)
    assert set(query_words(typed)[0].keys) & set(terms.keys + terms.stem_keys), (typed, native)


def test_two_latin_words_meet_one_indic_compound() -> None:
    sri, lanka = query_words("sri lanka")
    native = set(document_terms("श्रीलंका").keys)
    assert set(sri.keys) & native and set(lanka.keys) & native
