"""`python -m tests.chaos [--quick] [pytest args]`: every chaos scenario, or the CI subset.

Each scenario starts the platform as `koo up` does, on a PostgreSQL and a Redis of its
own, posts under load, injects its fault, and checks that every acknowledged post is in
the database, in every follower's feed, in search and in the counters. Figures measured
on the way are printed (`-s`) and appended to $KOO_CHAOS_REPORT when set.
"""

from __future__ import annotations

import os
import sys

import pytest


def main() -> None:
    args = sys.argv[1:]
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    os.environ["KOO_CHAOS"] = "quick" if quick else "all"
    here = os.path.dirname(os.path.abspath(__file__))
    # The project's addopts leave tests/chaos alone only by the conftest's skip; override
    # the timeout: the full set's outage scenario alone lasts minutes.
    sys.exit(pytest.main([here, "-p", "no:cacheprovider", "-o", "timeout=900", "-rA", *args]))


if __name__ == "__main__":
    main()
