"""Latin spellings of Indic words and the phonetic keys that let `bharat` find `भारत`.

People type Indian words in Latin letters in many ways (`chennai`/`sennai`,
`kannada`/`kanada`, `zindagi`/`jindagi`). Matching them against text written in Indic
scripts takes two steps, applied identically to what is indexed and to what is asked:

1. `romanize`: one Indic word -> one or more Latin spellings. indic-transliteration
   gives IAST; we then keep only the distinctions people actually type (long vowels as
   their short letters, retroflex as dental, anusvara as `n`/`m`, ...). North Indian
   languages drop the inherent `a` inside words (भारती is `bharti`, not `bharati`), so
   Devanagari, Bengali, Gurmukhi, Gujarati and Odia words also get a variant with that
   schwa deleted (Ohala's rule); Bengali pronounces it `o` (কলকাতা is `kolkata`), so it
   gets that variant too.
2. `phonetic_key`: a Latin spelling -> a key that collapses spellings of the same sound:
   ch/c, sh/s, th/t, dh/d, bh/b, kh/k, gh/g, jh/j, ph/p/f, w/v, z/j, q/k, x/ks, ee/i,
   oo/u, doubled letters, a final `a`. Tamil script writes no aspiration or voicing (க is
   k and g; ச is c, s and j), so Tamil words get a coarser key that also folds voicing;
   coarse keys start with `~` so they only ever meet other coarse keys.

Keys are matched exactly (posts) or as prefixes (users, hashtags; built without dropping
the final `a`, so `kann` is a prefix of `kanada`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex
from indic_transliteration import sanscript

from services.kit.text import script_of

COARSE_PREFIX = "~"

# indic-transliteration's scheme per script (Bengali script words using the Assamese
# letters ৰ/ৱ are read with the Assamese scheme).
_SCHEMES: dict[str, str] = {
    "Devanagari": sanscript.DEVANAGARI,
    "Bengali": sanscript.BENGALI,
    "Gurmukhi": sanscript.GURMUKHI,
    "Gujarati": sanscript.GUJARATI,
    "Oriya": sanscript.ORIYA,
    "Tamil": sanscript.TAMIL,
    "Telugu": sanscript.TELUGU,
    "Kannada": sanscript.KANNADA,
    "Malayalam": sanscript.MALAYALAM,
}
_ASSAMESE_LETTERS = frozenset("\u09f0\u09f1")
# Scripts whose languages drop the inherent vowel inside words.
_SCHWA_DELETING = frozenset({"Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya"})
# Dravidian languages say a final anusvara as `m` (మలయాళం malayalam, ప్రపంచం prapancham).
_FINAL_ANUSVARA_M = frozenset({"Tamil", "Telugu", "Kannada", "Malayalam"})

# Before transliterating: drop nuktas (क़ ज़ फ़ ड़ are typed k/z~j/f~p/d anyway, and the
# library mishandles some, e.g. Odia ଡ଼), the joiners, and rewrite letters the library
# does not know (Malayalam chillus, Devanagari candra vowels of English loans).
_PRE = str.maketrans(
    {
        "\u093c": None,  # Devanagari nukta
        "\u09bc": None,  # Bengali
        "\u0a3c": None,  # Gurmukhi
        "\u0abc": None,  # Gujarati
        "\u0b3c": None,  # Odia
        "\u0c3c": None,  # Telugu
        "\u0cbc": None,  # Kannada
        "\u200c": None,  # ZWNJ
        "\u200d": None,  # ZWJ
        "\u0d7a": "\u0d23\u0d4d",  # Malayalam chillu nn -> ണ്
        "\u0d7b": "\u0d28\u0d4d",  # chillu n -> ന്
        "\u0d7c": "\u0d30\u0d4d",  # chillu rr -> ര്
        "\u0d7d": "\u0d32\u0d4d",  # chillu l -> ല്
        "\u0d7e": "\u0d33\u0d4d",  # chillu ll -> ള്
        "\u0d7f": "\u0d15\u0d4d",  # chillu k -> ക്
        "\u0911": "\u0913",  # ऑ -> ओ
        "\u0949": "\u094b",  # ॉ -> ो
        "\u0945": "\u0947",  # ॅ -> े
        "\u0972": "\u0905",  # ॲ -> अ
    }
)

_MACRON, _DOT_BELOW, _RING_BELOW, _CANDRABINDU = "\u0304", "\u0323", "\u0325", "\u0310"
_LONG = {"a": "A", "i": "I", "u": "U"}  # long vowels kept apart until schwa deletion ran


def _iast_to_marked(iast: str) -> str:
    """IAST -> lower-case ASCII with A/I/U for long vowels and M for anusvara.

    The markers matter only to schwa deletion (an inherent `a` is a lower-case `a`);
    everything else is already what people type.
    """
    out: list[str] = []
    for cluster in regex.findall(r"\X", unicodedata.normalize("NFD", iast.lower())):
        base, marks = cluster[0], cluster[1:]
        if base == "~" or _CANDRABINDU in marks:  # candrabindu: a nasal, typed `n`
            out.append("M" if base in "~m" else base + "M")
        elif base == "m" and _DOT_BELOW in marks:  # ṃ anusvara
            out.append("M")
        elif base == "h" and _DOT_BELOW in marks:  # ḥ visarga: silent in typing (दुःख dukh)
            continue
        elif base in "rl" and (_DOT_BELOW in marks or _RING_BELOW in marks):  # ṛ ṝ: `ri` (kṛṣṇa krishna)
            out.append(base + "i")
        elif base in _LONG and _MACRON in marks:
            out.append(_LONG[base])
        elif base == "c":  # च is typed `ch` (and छ `chh`): keeps a bare `c` free for English `k`
            out.append("ch")
        elif "a" <= base <= "z" or "0" <= base <= "9":
            out.append(base)
        # anything else (a letter the library left in Indic script, punctuation) is dropped
    return "".join(out)


_VOWEL_UNITS = frozenset({"a", "A", "i", "I", "u", "U", "e", "o", "ai", "au"})
_UNIT = regex.compile(r"ai|au|[bcdgjkpt]h|.")


def _delete_schwas(marked: str) -> str:
    """Ohala's schwa deletion: drop the final inherent `a`, then, right to left, each
    inherent `a` between VC and CV (`bhArata` -> `bhArat`, `bhAratI` -> `bhArtI`)."""
    units = _UNIT.findall(marked)

    def vowel(i: int) -> bool:
        # a nasalized vowel (vowel + anusvara) is a vowel: बांगलादेश is `banglAdesh`
        if 0 <= i < len(units) and units[i] == "M":
            return vowel(i - 1)
        return 0 <= i < len(units) and units[i] in _VOWEL_UNITS

    def consonant(i: int) -> bool:
        return 0 <= i < len(units) and units[i] not in _VOWEL_UNITS and units[i].isalpha()

    if len(units) > 2 and units[-1] == "a" and consonant(len(units) - 2):
        units.pop()
    for i in range(len(units) - 2, 1, -1):
        if units[i] == "a" and consonant(i - 1) and vowel(i - 2) and consonant(i + 1) and vowel(i + 2):
            del units[i]
    return "".join(units)


def _finish(marked: str, script: str) -> str:
    """Resolve the markers: anusvara as `m` (Dravidian, word-final) or `n`; lower-case."""
    if script == "Tamil":  # Tamil has no anusvara: the library writes ம் as one
        return marked.replace("M", "m").lower()
    if script in _FINAL_ANUSVARA_M and marked.endswith("M"):
        marked = marked[:-1] + "m"
    return marked.replace("M", "n").lower()


# The flapped ड़/ढ़ (and Bengali/Odia kin) are typed both ways: sadak/sarak, garh/gadh.
_FLAP = regex.compile("([\u0921\u0922\u09a1\u09a2\u0b21\u0b22])[\u093c\u09bc\u0b3c]")
_FLAP_AS_R = {
    "\u0921": "\u0930",
    "\u0922": "\u0930\u094d\u0939",
    "\u09a1": "\u09b0",
    "\u09a2": "\u09b0\u09cd\u09b9",
    "\u0b21": "\u0b30",
    "\u0b22": "\u0b30\u0b4d\u0b39",
}


@lru_cache(maxsize=65536)
def romanize(word: str) -> tuple[str, ...]:
    """Latin spellings of one word written in a single Indic script ("" parts dropped).

    `भारत` -> (`bharata`, `bharat`); a Latin or unknown-script word is returned lower-cased.
    """
    script = next((s for s in map(script_of, word) if s is not None), None)
    if script is None or script == "Latin" or script not in _SCHEMES:
        return (_ascii_fold(word),)
    spellings = _romanize(word, script)
    if _FLAP.search(word):
        spellings += _romanize(_FLAP.sub(lambda m: _FLAP_AS_R[m.group(1)], word), script)
    return tuple(dict.fromkeys(spellings))


def _romanize(word: str, script: str) -> tuple[str, ...]:
    scheme = _SCHEMES[script]
    if script == "Bengali" and _ASSAMESE_LETTERS & set(word):
        scheme = "assamese"  # the library has the scheme but no constant for it
    try:
        iast = sanscript.transliterate(word.translate(_PRE), scheme, sanscript.IAST)
    except Exception:  # noqa: BLE001 - a word the library chokes on is still indexed as written
        return ()
    marked = _iast_to_marked(iast)
    if scheme == sanscript.BENGALI:
        # ব is b in Bengali (the library writes v), except after a consonant (বিশ্ব biswa).
        # The Assamese scheme already writes ব as b and ৱ as v.
        marked = regex.sub(r"(?<![bcdfghjklmnpqrstvwxyz])v", "b", marked)
    spellings = [marked]
    if script == "Malayalam" and "nt" in marked:
        # ന്ത is said `nd` (ഇന്ത്യ india, ചന്ദനം chandanam): typed both ways
        spellings.append(marked.replace("nt", "nd"))
    if script in _SCHWA_DELETING:
        spellings.append(_delete_schwas(marked))
        if script == "Bengali":
            spellings.append(spellings[-1].replace("a", "o"))  # inherent vowel said `o`
    return tuple(dict.fromkeys(s for s in (_finish(m, script) for m in spellings) if s))


def _ascii_fold(word: str) -> str:
    """Latin text without diacritics, lower-cased (`Bhārat` -> `bharat`)."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


_ASPIRATE = regex.compile(r"([kgjtdpbs])h")
_DOUBLE = regex.compile(r"(.)\1+")
_COARSE = str.maketrans({"g": "k", "j": "c", "s": "c", "d": "t", "b": "p"})


@lru_cache(maxsize=65536)
def phonetic_key(latin: str, *, coarse: bool = False, drop_final_a: bool = True) -> str:
    """The key two spellings of the same word share (`chennai`/`chenai` -> `cenai`).

    `coarse` also folds voicing and c/s/j (Tamil script does not write them apart);
    `drop_final_a` makes `kannada` and `kannad` meet (off for prefix matching).
    """
    s = _ascii_fold(latin)
    if coarse:
        s = s.replace("zh", "l")  # தமிழ் is typed tamil or tamizh
    s = s.replace("ee", "i").replace("oo", "u").replace("x", "ks").replace("q", "k")
    # ch/chh (च/छ) is one sound, a bare c is English k (cricket / क्रिकेट kriket).
    s = regex.sub(r"ch+", "C", s).replace("c", "k").replace("C", "c")
    s = _ASPIRATE.sub(r"\1", s)
    s = s.replace("f", "p").replace("w", "v").replace("z", "j")
    s = regex.sub(r"iy(?=[aeiou])", "i", s)  # odiya / odia, intiya / intia
    s = regex.sub(r"(?<=o)v(?=a)", "", s)  # गोवा gova / goa
    s = regex.sub(r"ai(?=[^aeiouy][^aeiouy])", "a", s)  # English `a` written ऐ: नागालैंड nagaland
    s = regex.sub(r"(?<=[^aeiouy])y(?=a)", "i", s)  # ഇന്ത്യ indya / india
    s = regex.sub(r"(?<=[^aeiou])y$", "i", s)  # pondicherry / ...ceri
    s = regex.sub(r"y(?![aeiou])", "ai", s)  # mysuru / maisuru
    s = _DOUBLE.sub(r"\1", s)  # aa, ii, nn, ll ...
    s = regex.sub(r"m(?=[pb])", "n", s)  # mumbai / मुंबई (muMbaI)
    s = regex.sub(r"ng(?![aeiou])", "n", s)  # bangla / বাংলা (bAMlA)
    if coarse:
        s = _DOUBLE.sub(r"\1", s.translate(_COARSE))
    if drop_final_a and len(s) > 2 and s.endswith("a"):
        s = s[:-1]
    return COARSE_PREFIX + s if coarse else s


def is_tamil(word: str) -> bool:
    return any(script_of(ch) == "Tamil" for ch in word)


def is_latin(word: str) -> bool:
    return all(script_of(ch) in ("Latin", None) for ch in word)


def word_keys(word: str, *, query: bool, drop_final_a: bool = True) -> frozenset[str]:
    """Phonetic keys of one word, as indexed (`query=False`) or as searched for.

    A Tamil word has only its coarse key. A Latin query word asks for both its key and
    its coarse key (it may be meant for any script); a Latin word in a post is indexed
    with its plain key only, so English words never meet through the coarse fold.
    """
    if is_tamil(word):
        return frozenset(phonetic_key(r, coarse=True, drop_final_a=drop_final_a) for r in romanize(word)) - {"~"}
    keys = {phonetic_key(r, drop_final_a=drop_final_a) for r in romanize(word)}
    if query and is_latin(word):
        keys.add(phonetic_key(word, coarse=True, drop_final_a=drop_final_a))
    return frozenset(k for k in keys if k and k != COARSE_PREFIX)
