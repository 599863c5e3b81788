"""Handle rules: the pattern, reserved names, and lookalikes.

Two handles whose confusable skeletons (after UTS #39, restricted to the handle alphabet
a-z 0-9 _) are equal read the same to a person (`aIice`, `a1ice` and `alice`): the
skeleton is stored with each user under a unique index, so only the first may exist.
Names that speak for Koo itself are reserved, in any lookalike spelling.
"""

from __future__ import annotations

import regex

# \\Z, not $: `$` also matches before a final newline (`"alice\\n"` would pass).
HANDLE_RE = regex.compile(r"^[A-Za-z0-9_]{3,30}\Z")

# UTS #39 confusables among the characters a handle may hold (before case folding, as
# `I` and `l` differ only then); sequences after it. Mirrored in SQL by migration 0003.
_SINGLE = str.maketrans({"I": "l", "1": "l", "0": "o", "O": "o"})
_SEQUENCES = (("rn", "m"), ("vv", "w"))

RESERVED = frozenset(
    {
        "koo", "kooapp", "koo_app", "koo_official", "official_koo", "kooofficial", "official", "admin",
        "administrator", "root", "system", "support", "koo_support", "help", "helpdesk", "security", "abuse",
        "moderator", "moderators", "mod", "staff", "team", "koo_team", "verified", "verify", "api", "www",
        "mail", "postmaster", "hostmaster", "webmaster", "info", "news", "press", "legal", "privacy",
        "trust", "safety", "trust_safety", "null", "undefined", "anonymous", "everyone", "me",
    }
)  # fmt: skip
# Words that, with "koo", claim to speak for the company (koo_help, kooadmin, support_koo).
_OFFICIAL_WORDS = ("official", "admin", "support", "help", "staff", "team", "moderat", "verif", "security")


def skeleton(handle: str) -> str:
    """What a handle looks like: equal skeletons are lookalikes."""
    text = handle.translate(_SINGLE).lower()
    for sequence, replacement in _SEQUENCES:
        text = text.replace(sequence, replacement)
    return text


def is_reserved(handle: str) -> bool:
    shape = skeleton(handle)
    if shape in {skeleton(r) for r in RESERVED}:
        return True
    bare = shape.replace("_", "")
    return "official" in bare or ("koo" in bare and any(word in bare for word in _OFFICIAL_WORDS))
