"""Chaos scenarios run only through their command (`python -m tests.chaos`), which sets
KOO_CHAOS; the README's `python -m pytest` leaves them out (they start their own servers
and take minutes)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = os.environ.get("KOO_CHAOS", "")
    for item in items:
        if "tests/chaos/" not in str(item.fspath).replace(os.sep, "/"):
            continue
        if not wanted:
            item.add_marker(pytest.mark.skip(reason="chaos scenarios run with `python -m tests.chaos`"))
        elif wanted == "quick" and item.get_closest_marker("quick") is None:
            item.add_marker(pytest.mark.skip(reason="not in the quick subset (`python -m tests.chaos` runs all)"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "quick: a chaos scenario cheap enough for CI (`--quick`)")
