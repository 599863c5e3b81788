"""The search-quality benchmark's floor, checked on every run (tests/quality/search_quality.py).

Words from Unicode CLDR (Babel), not from us: each locale's names of India's languages,
Southern Asia's countries and Kolkata, in 12 languages, each in a plain post and in a post
with a case ending attached. What a reader of any of the 12 languages must always get: the
word itself found and first, its inflected forms found and ranked below it, and the
English names found (the benchmark prints the exact figures per language).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tests.quality.search_quality import Pair, build, evaluate


def share(rows: list[tuple[Pair, int]], ok: Callable[[tuple[Pair, int]], bool]) -> float:
    return sum(1 for row in rows if ok(row)) / len(rows)


async def test_cldr_names_are_found_in_their_script_and_inflected_forms_rank_below(database_url: str) -> None:
    docs, pairs = build(author=random.getrandbits(40) | 1, first_id=random.getrandbits(52) << 10)
    ranks = await evaluate(database_url, pairs, docs)
    native = [(p, r) for p, r in ranks if p.kind == "native"]
    inflected = [(p, r) for p, r in ranks if p.kind == "stem"]
    latin = [(p, r) for p, r in ranks if p.kind in ("latin", "typed", "latin-stem") and not p.held_out]
    assert len(native) >= 300 and len(inflected) >= 250
    assert all(r for _, r in native), [p for p, r in native if not r]
    assert share(native, lambda row: row[1] == 1) >= 0.99
    assert all(r for _, r in inflected), [p for p, r in inflected if not r]
    assert share(inflected, lambda row: row[1] >= 2) >= 0.99  # the bare word's post comes first
    assert share(latin, lambda row: row[1] > 0) >= 0.97, [p.query for p, r in latin if not r]
