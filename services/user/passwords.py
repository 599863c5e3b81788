"""Password rules (OWASP ASVS 4.0 V2.1): length, not a known password, not the handle.

At least 12 characters once runs of spaces count as one (V2.1.1), at most 256 (argon2 has
no limit of its own; a limit keeps hashing cheap), any character allowed (V2.1.4, no
composition rules, V2.1.9). Known passwords (V2.1.7) are the ~30,000 most common ones of
the list zxcvbn ships, checked case-insensitively, also with digits and punctuation
stripped from the ends (`password1!`); and a password may not be the handle or hold it.
"""

from __future__ import annotations

import functools
import re

from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

MIN_PASSWORD = 12
MAX_PASSWORD = 256
_SPACES = re.compile(r" {2,}")
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+\Z")


@functools.cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, handle: str) -> str | None:
    """Why `password` may not be used, or None."""
    length = len(_SPACES.sub(" ", password))
    if length < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        return f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters"
    folded = password.casefold().strip()
    if len(set(folded)) < 4:
        return "password is too repetitive"
    common = _common()
    if folded in common or _ENDS.sub("", folded) in common or folded.replace(" ", "") in common:
        return "password is one of the most common passwords; choose another"
    if handle and handle.casefold() in folded:
        return "password must not contain the handle"
    return None
